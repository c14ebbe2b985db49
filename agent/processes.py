"""The busiest processes, for the full inspection only.

CPU time is a counter, so "busiest" is measured over a short window between two readings
of ``/proc/<pid>/stat`` (the same files psutil would read; reading them directly spares
the agent psutil's 2.7 MiB of resident memory and lets the tests use a fixture tree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.snapshot import ProcessUsage

ListProcesses = Callable[[], list[ProcessUsage]]


@dataclass(frozen=True)
class TopProcess:
    pid: int
    name: str
    cpu_ratio: float  # share of all CPUs over the window, 0..1
    rss_bytes: int


def top_processes(
    before: list[ProcessUsage],
    after: list[ProcessUsage],
    elapsed: float,
    cpus: int,
    count: int = 5,
) -> tuple[list[TopProcess], list[TopProcess]]:
    """The ``count`` busiest by CPU and the ``count`` largest by resident memory."""
    earlier = {(p.pid, p.name): p.cpu_seconds for p in before}
    measured = []
    for proc in after:
        start = earlier.get((proc.pid, proc.name))  # a pid reused by another program: new
        used = proc.cpu_seconds - start if start is not None else 0.0
        ratio = max(0.0, used) / (elapsed * cpus) if elapsed > 0 else 0.0
        measured.append(TopProcess(proc.pid, proc.name, min(ratio, 1.0), proc.rss_bytes))
    by_cpu = sorted(measured, key=lambda p: p.cpu_ratio, reverse=True)[:count]
    by_memory = sorted(measured, key=lambda p: p.rss_bytes, reverse=True)[:count]
    return [p for p in by_cpu if p.cpu_ratio > 0], by_memory
