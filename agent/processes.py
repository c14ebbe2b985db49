"""The busiest processes, for the full inspection only.

CPU use is a counter, so "busiest" is measured over an interval: each process's share of
all CPUs since the inspection before (psutil's ``cpu_percent``, started at every
inspection, :meth:`agent.system.SystemReader.processes`). A process that started since
then has no share yet and is not among the busiest.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.snapshot import ProcessUsage


def top_processes(
    usage: Sequence[ProcessUsage], count: int = 5
) -> tuple[list[ProcessUsage], list[ProcessUsage]]:
    """The ``count`` busiest by CPU (idle ones left out) and the ``count`` largest by
    resident memory."""
    by_cpu = sorted(usage, key=lambda p: p.cpu_ratio, reverse=True)[:count]
    by_memory = sorted(usage, key=lambda p: p.rss_bytes, reverse=True)[:count]
    return [p for p in by_cpu if p.cpu_ratio > 0], by_memory
