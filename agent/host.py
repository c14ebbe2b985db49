"""One pass of every reader over this machine, a fault in one reader costing only its part.

A reader that fails (a file missing, a program absent, an answer that does not parse)
leaves its part of the :class:`Snapshot` empty and says why in ``unknown``; the rest of
the snapshot is still taken. Only ``OSError``, ``ValueError`` (and the ``KeyError`` /
``IndexError`` of a short file) and the ``RuntimeError`` psutil raises for a file it
cannot make sense of are caught: anything else is a bug and must be seen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar

import psutil

from agent.filesystems import FilesystemReader, Statvfs
from agent.mdstat import parse_mdstat
from agent.probes import Probed, Probes
from agent.procfs import ProcReader
from agent.snapshot import DiskCounters, Interface, ProcessCounts, ProcessUsage, Snapshot
from agent.sysfs import SysReader
from agent.system import ProcessScan, Psutil, SystemReader

T = TypeVar("T")
READ_ERRORS = (OSError, ValueError, KeyError, IndexError, RuntimeError, psutil.Error)
Smart = Literal["skip", "now", "cached"]


class Guard:
    """Runs one reader; a failure becomes an entry of ``unknown`` with its reason."""

    def __init__(self) -> None:
        self.unknown: dict[str, str] = {}

    def __call__(self, name: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except READ_ERRORS as exc:
            self.unknown[name] = _reason(exc)
            return None


@dataclass
class Host:
    """The readers of one machine: psutil for what it knows, our own readers (each rooted
    where it is told, fixture trees in tests) and programs for the rest."""

    system: SystemReader
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
        ps: Psutil | None = None,
    ) -> Host:
        system = SystemReader(ps)
        return cls(
            system=system,
            proc=ProcReader(proc_root),
            sysfs=SysReader(sys_root),
            filesystems=FilesystemReader(system.ps, statvfs=statvfs),
            probes=Probes(run_root=run_root, ttl=probe_ttl),
        )

    def snapshot(self, smart: Smart = "skip", processes: ProcessScan = "count") -> Snapshot:
        """One pass; ``processes`` says how closely to look at each process
        (:meth:`agent.system.SystemReader.processes`)."""
        guard = Guard()
        unknown = guard.unknown
        taken = self.monotonic()
        boot = guard("uptime_seconds", self.system.boot)
        filesystems, fs_notes = guard("filesystem_usage_ratio", self.filesystems.read) or ([], {})
        unknown.update({f"filesystem_usage_ratio[{m}]": why for m, why in fs_notes.items()})
        mdstat = guard("raid_degraded", self.proc.mdstat)
        raid = guard("raid_degraded", lambda: parse_mdstat(mdstat)) if mdstat else None
        table: tuple[ProcessCounts, list[ProcessUsage]] | None = guard(
            "processes_count", lambda: self.system.processes(processes)
        )
        units = self._probed("systemd_failed_units", self.probes.failed_units(), unknown)
        return Snapshot(
            taken=taken,
            cpu=guard("cpu_usage_ratio", self.system.cpu_times),
            boot_time_seconds=boot[0] if boot else None,
            load=guard("load1", self.system.load),
            memory=guard("memory_usage_ratio", self.system.memory),
            uptime_seconds=boot[1] if boot else None,
            boot_id=guard("rebooted", self.proc.boot_id),
            filesystems=tuple(filesystems),
            disks=tuple(guard("disk_busy_ratio", self._disks) or ()),
            interfaces=tuple(self._interfaces(guard)),
            processes=table[0] if table else None,
            process_usage=tuple(table[1]) if table else (),
            raid=tuple(raid or ()),
            temperatures=tuple(guard("temperature_celsius", self.system.temperatures) or ()),
            fans=tuple(guard("fan_ok", self.sysfs.fans) or ()),
            failed_units=units,
            clock=self._probed("clock_offset_seconds", self.probes.clock(), unknown),
            smart=self._smart(smart, unknown),
            unknown=unknown,
        )

    def _disks(self) -> list[DiskCounters]:
        return self.system.disk_counters(self.sysfs.whole_disks())

    def _interfaces(self, guard: Guard) -> list[Interface]:
        counters = guard("interface_bits_rate", self.system.interface_counters) or []
        links = guard("interface_up", self.system.links) or {}
        found = []
        for nic in counters:
            oper, admin, speed = links.get(nic.name, (None, None, None))
            found.append(replace(nic, oper_up=oper, admin_up=admin, speed_bits=speed))
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
