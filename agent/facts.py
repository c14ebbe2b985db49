"""The server's asset facts, carried in the full inspection's ``meta``: what it runs and
what it has (for the inventory, the monthly report and whoever plans an upgrade).

The keys are the collector's for a Linux server over SSH (``docs/collector.md``):
``os_name`` (os-release's ``PRETTY_NAME``), ``kernel`` (``Linux 6.1.0-18-amd64``) and
``arch``; the agent adds ``cpu_count`` and ``memory_bytes``. Meta values are text. A fact
that cannot be read is left out: facts are context, not readings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

OS_NAME_MAX = 200


def os_name(etc_root: str | Path = "/etc") -> str | None:
    """``PRETTY_NAME`` of ``os-release`` (``/etc``, else ``/usr/lib`` as systemd reads it)."""
    for path in (Path(etc_root) / "os-release", Path(etc_root).parent / "usr/lib/os-release"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "PRETTY_NAME":
                name = value.strip().strip("\"'")
                return name[:OS_NAME_MAX] or None
        return None
    return None


def read_facts(
    cpu_count: Callable[[], int],
    memory_bytes: Callable[[], int],
    etc_root: str | Path = "/etc",
    uname: Callable[[], os.uname_result] = os.uname,
) -> dict[str, str]:
    """The facts as ``meta`` entries (five at most)."""
    facts: dict[str, str] = {}
    name = os_name(etc_root)
    if name:
        facts["os_name"] = name
    u = uname()
    facts["kernel"] = f"{u.sysname} {u.release}"
    facts["arch"] = u.machine
    try:
        facts["cpu_count"] = str(cpu_count())
        facts["memory_bytes"] = str(memory_bytes())
    except (OSError, RuntimeError, ValueError):
        pass  # psutil could not say: the health samples report why
    return facts
