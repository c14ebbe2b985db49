"""One pass of every reader over this machine, a fault in one reader costing only its part.

A reader that fails (a file missing, a program absent, an answer that does not parse)
leaves its part of the :class:`Snapshot` empty and says why in ``unknown``; the rest of
the snapshot is still taken. Only ``OSError`` and ``ValueError`` (and the ``KeyError`` /
``IndexError`` of a short file) are caught: anything else is a bug and must be seen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar

from agent.filesystems import FilesystemReader, Statvfs
from agent.mdstat import parse_mdstat
from agent.probes import Probed, Probes
from agent.procfs import ProcReader
from agent.snapshot import CpuTimes, DiskCounters, Interface, Snapshot
from agent.sysfs import SysReader

T = TypeVar("T")
READ_ERRORS = (OSError, ValueError, KeyError, IndexError)
Smart = Literal["skip", "now", "cached"]


@dataclass
class Host:
    """The readers of one machine, each rooted where it is told (fixture trees in tests)."""

    proc: ProcReader
    sysfs: SysReader
    filesystems: FilesystemReader
    probes: Probes
    monotonic: Callable[[], float] = field(default=time.monotonic)

    @classmethod
    def local(
        cls,
        proc_root: str | Path = "/proc",
        sys_root: str | Path = "/sys",
        run_root: str | Path = "/run",
        probe_ttl: float = 30.0,
        statvfs: Statvfs = os.statvfs,
    ) -> Host:
        proc = ProcReader(proc_root)
        return cls(
            proc=proc,
            sysfs=SysReader(sys_root),
            filesystems=FilesystemReader(proc, statvfs=statvfs),
            probes=Probes(run_root=run_root, ttl=probe_ttl),
        )

    def snapshot(self, smart: Smart = "skip") -> Snapshot:
        unknown: dict[str, str] = {}

        def guard(name: str, read: Callable[[], T]) -> T | None:
            try:
                return read()
            except READ_ERRORS as exc:
                unknown[name] = _reason(exc)
                return None

        taken = self.monotonic()
        cpu_boot: tuple[CpuTimes, float] | None = guard("cpu_usage_ratio", self.proc.cpu_times)
        filesystems, fs_notes = guard("filesystem_usage_ratio", self.filesystems.read) or ([], {})
        unknown.update({f"filesystem_usage_ratio[{m}]": why for m, why in fs_notes.items()})
        mdstat = guard("raid_degraded", self.proc.mdstat)
        raid = guard("raid_degraded", lambda: parse_mdstat(mdstat)) if mdstat else None
        sensors = guard("temperature_celsius", self.sysfs.hwmon) or ([], [])
        units = self._probed("systemd_failed_units", self.probes.failed_units(), unknown)
        return Snapshot(
            taken=taken,
            cpu=cpu_boot[0] if cpu_boot else None,
            boot_time_seconds=cpu_boot[1] if cpu_boot and cpu_boot[1] else None,
            load=guard("load1", self.proc.load),
            memory=guard("memory_usage_ratio", self.proc.memory),
            uptime_seconds=guard("uptime_seconds", self.proc.uptime),
            boot_id=guard("rebooted", self.proc.boot_id),
            filesystems=tuple(filesystems),
            disks=tuple(guard("disk_busy_ratio", self._disks) or ()),
            interfaces=tuple(guard("interface_up", self._interfaces) or ()),
            processes=guard("processes", self.proc.process_counts),
            raid=tuple(raid or ()),
            temperatures=tuple(sensors[0]),
            fans=tuple(sensors[1]),
            failed_units=units,
            clock=self._probed("clock_offset_seconds", self.probes.clock(), unknown),
            smart=self._smart(smart, unknown),
            unknown=unknown,
        )

    def _disks(self) -> list[DiskCounters]:
        return self.proc.disk_counters(self.sysfs.whole_disks())

    def _interfaces(self) -> list[Interface]:
        found = []
        for counters in self.proc.interface_counters():
            if not self.sysfs.watched_interface(counters.name):
                continue
            oper, admin, speed = self.sysfs.link(counters.name)
            found.append(replace(counters, oper_up=oper, admin_up=admin, speed_bits=speed))
        return found

    def _smart(self, mode: Smart, unknown: dict[str, str]) -> tuple[tuple[str, bool], ...]:
        if mode == "skip":
            return ()
        if mode == "now":
            try:
                disks = self.sysfs.smart_disks()
            except OSError as exc:
                unknown["disk_smart_ok"] = _reason(exc)
                return ()
            answers = self.probes.smart(disks)
        else:
            answers = self.probes.last_smart()
        known = []
        for disk, probed in answers:
            if probed.value is None:
                unknown[f"disk_smart_ok[{disk}]"] = probed.unknown or "unknown"
            else:
                known.append((disk, probed.value))
        return tuple(known)

    @staticmethod
    def _probed(name: str, probed: Probed[T], unknown: dict[str, str]) -> T | None:
        if probed.value is None:
            unknown[name] = probed.unknown or "unknown"
        return probed.value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return str(exc) or type(exc).__name__
