"""The few readings of ``/proc`` that psutil has nothing for, rooted at an injectable
directory so the tests read a fixture tree (as prometheus_client's ``ProcessCollector``
takes ``proc=``): the boot id, the host name and the md driver's ``mdstat``.

Everything else the agent reads from ``/proc`` goes through psutil (:mod:`agent.system`).
Every reader raises ``OSError`` when its file is missing; the snapshot turns that into
an "unknown" with its reason.
"""

from __future__ import annotations

from pathlib import Path


class ProcReader:
    """Reads this machine's ``/proc`` (or a fixture tree standing in for it)."""

    def __init__(self, proc_root: str | Path = "/proc") -> None:
        self.root = Path(proc_root)

    def _read(self, *parts: str) -> str:
        return self.root.joinpath(*parts).read_text(encoding="utf-8", errors="replace")

    def boot_id(self) -> str:
        """Changes at every boot: what tells a reboot from an agent restart."""
        return self._read("sys", "kernel", "random", "boot_id").strip()

    def hostname(self) -> str:
        return self._read("sys", "kernel", "hostname").strip()

    def mdstat(self) -> str | None:
        """The text of ``/proc/mdstat``, or None where the md driver is not loaded."""
        try:
            return self._read("mdstat")
        except FileNotFoundError:
            return None
