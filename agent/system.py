"""This machine's readings through psutil: CPU, load, memory, boot time, disk and network
counters, link state, processes and temperatures.

psutil is handed in: the module itself in the service, a stand-in answering with psutil's
own namedtuple types in the tests (psutil is a library the agent calls, not a peer it
talks to, so the tests check what the agent makes of psutil's answers, and compare the
real thing with the live machine). :class:`Psutil` is the part of psutil's API the agent
depends on, all of it.

Counters stay raw, as the kernel keeps them (``nowrap=False``), so ``/metrics`` and the
observation's rates share one reading: a counter that went down is a reset, which
:class:`agent.rates.Rates` and Prometheus each handle their own way.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Literal, Protocol

import psutil

from agent.snapshot import (
    CpuTimes,
    DiskCounters,
    Interface,
    Load,
    Memory,
    ProcessCounts,
    ProcessUsage,
)

if TYPE_CHECKING:
    from psutil import _ntuples as ntp

ProcessScan = Literal["count", "prime", "measure"]
# Interfaces created and destroyed with containers and VMs, and the loopback: a new
# series for every container started helps no one.
_CHURN_NET = re.compile(
    r"^(lo|veth.*|docker\d+|br-[0-9a-f]{12}|cni\d*|flannel.*|cali.*|tap.*|vnet\d+|virbr\d+-nic)$"
)
COMM_LENGTH = 15  # the kernel's command name: TASK_COMM_LEN less its NUL


class PsutilProcess(Protocol):
    """What the agent asks of one ``psutil.Process``: never its command line."""

    @property
    def pid(self) -> int: ...
    def oneshot(self) -> AbstractContextManager[None]: ...
    def status(self) -> str: ...
    def name(self) -> str: ...
    def cpu_percent(self, interval: float | None = None) -> float: ...
    def memory_info(self) -> ntp.pmem: ...


class Psutil(Protocol):
    """The functions of the ``psutil`` module the agent calls."""

    def cpu_times(self) -> ntp.scputimes: ...
    def cpu_count(self) -> int | None: ...
    def getloadavg(self) -> tuple[float, float, float]: ...
    def virtual_memory(self) -> ntp.svmem: ...
    def swap_memory(self) -> ntp.sswap: ...
    def boot_time(self) -> float: ...
    def disk_partitions(self, all: bool) -> list[ntp.sdiskpart]: ...
    def disk_usage(self, path: str) -> ntp.sdiskusage: ...
    def disk_io_counters(self, perdisk: Literal[True], nowrap: bool) -> dict[str, ntp.sdiskio]: ...
    def net_io_counters(self, pernic: Literal[True], nowrap: bool) -> dict[str, ntp.snetio]: ...
    def net_if_stats(self) -> dict[str, ntp.snicstats]: ...
    def process_iter(self) -> Iterator[PsutilProcess]: ...
    def sensors_temperatures(self) -> dict[str, list[ntp.shwtemp]]: ...


def watched_interface(name: str) -> bool:
    return not _CHURN_NET.match(name)


class SystemReader:
    """Maps psutil's answers onto the snapshot's types; safe to share across threads."""

    def __init__(self, ps: Psutil | None = None, wall_time: Callable[[], float] = time.time):
        self.ps: Psutil = ps if ps is not None else psutil
        self._wall_time = wall_time
        # psutil keeps one table of Process objects for every caller of process_iter(),
        # replaced at the end of each walk, and cpu_percent() measures from the previous
        # call on the same object: a scrape and an inspection walking at once would drop
        # each other's objects, and with them the inspection's CPU baselines.
        self._scan_lock = threading.Lock()

    def cpu_count(self) -> int:
        return self.ps.cpu_count() or 1

    def cpu_times(self) -> CpuTimes:
        t = self.ps.cpu_times()
        # guest and guest_nice are left out: the kernel counts them in user and nice too.
        return CpuTimes(
            user=t.user,
            nice=t.nice,
            system=t.system,
            idle=t.idle,
            iowait=t.iowait,
            irq=t.irq,
            softirq=t.softirq,
            steal=t.steal,
            cpus=self.cpu_count(),
        )

    def load(self) -> Load:
        return Load(*self.ps.getloadavg())

    def memory(self) -> Memory:
        # ``available`` is the kernel's MemAvailable (psutil estimates it on kernels
        # before 3.14, as `free` did): memory a program can have without swapping.
        memory, swap = self.ps.virtual_memory(), self.ps.swap_memory()
        return Memory(
            total_bytes=memory.total,
            available_bytes=memory.available,
            swap_total_bytes=swap.total,
            swap_free_bytes=swap.free,
        )

    def boot(self) -> tuple[float, float]:
        """Boot time (Unix time) and uptime in seconds."""
        booted = self.ps.boot_time()
        return booted, max(0.0, self._wall_time() - booted)

    def disk_counters(self, whole_disks: set[str] | None) -> list[DiskCounters]:
        """Counters of the whole disks named in ``whole_disks`` (all of them when None).

        psutil lists partitions too; which names are whole disks only ``/sys/block``
        tells (:meth:`agent.sysfs.SysReader.whole_disks`).
        """
        counters = self.ps.disk_io_counters(perdisk=True, nowrap=False)
        return [
            DiskCounters(
                disk=name,
                reads=c.read_count,
                writes=c.write_count,
                read_bytes=c.read_bytes,
                written_bytes=c.write_bytes,
                io_seconds=c.busy_time / 1000,
            )
            for name, c in sorted(counters.items())
            if whole_disks is None or name in whole_disks
        ]

    def interface_counters(self) -> list[Interface]:
        counters = self.ps.net_io_counters(pernic=True, nowrap=False)
        return [
            Interface(
                name=name,
                receive_bytes=c.bytes_recv,
                transmit_bytes=c.bytes_sent,
                receive_errors=c.errin,
                transmit_errors=c.errout,
                receive_drops=c.dropin,
                transmit_drops=c.dropout,
            )
            for name, c in sorted(counters.items())
            if watched_interface(name)
        ]

    def links(self) -> dict[str, tuple[bool, bool, float | None]]:
        """``(oper_up, admin_up, speed_bits)`` by interface.

        Operational is the kernel's ``running`` flag (carrier present, or an interface
        such as a tunnel that has no carrier to lose), enabled is ``up``; a speed of 0
        means the driver does not say.
        """
        links = {}
        for name, stats in self.ps.net_if_stats().items():
            flags = set(stats.flags.split(","))
            speed = stats.speed * 1_000_000.0 if stats.speed > 0 else None
            links[name] = ("running" in flags, "up" in flags, speed)
        return links

    def processes(self, scan: ProcessScan = "count") -> tuple[ProcessCounts, list[ProcessUsage]]:
        """Processes and zombies; with ``prime``, start every process's CPU measure;
        with ``measure``, also each one's CPU share since then and resident memory."""
        total = zombie = 0
        usage: list[ProcessUsage] = []
        cpus = self.cpu_count()
        with self._scan_lock:
            for proc in self.ps.process_iter():
                status, used = _look_at(proc, scan, cpus)
                if status is None:
                    continue
                total += 1
                zombie += status == psutil.STATUS_ZOMBIE
                if used is not None:
                    usage.append(used)
        return ProcessCounts(total=total, zombie=zombie), usage

    def temperatures(self) -> list[tuple[str, float]]:
        """Temperatures in °C named ``chip/label``; unlabelled ones ``chip/tempN`` in the
        chip's order, and a name met twice (two chips of one kind) gets ``#2``, ``#3``."""
        found: list[tuple[str, float]] = []
        seen: dict[str, int] = {}
        for chip, entries in self.ps.sensors_temperatures().items():
            for number, entry in enumerate(entries, start=1):
                name = f"{chip}/{entry.label or f'temp{number}'}"
                seen[name] = seen.get(name, 0) + 1
                if seen[name] > 1:
                    name = f"{name}#{seen[name]}"
                found.append((name, float(entry.current)))
        return found


def _look_at(
    proc: PsutilProcess, scan: ProcessScan, cpus: int
) -> tuple[str | None, ProcessUsage | None]:
    """The process's status (None when it is gone or hidden) and, when measured, its usage."""
    try:
        with proc.oneshot():  # one read of /proc/<pid>/stat for everything below
            status = proc.status()
            if scan == "count" or status == psutil.STATUS_ZOMBIE:
                return status, None
            try:
                share = proc.cpu_percent() / 100 / cpus  # percent of one CPU
                if scan == "prime":
                    return status, None
                return status, ProcessUsage(
                    pid=proc.pid,
                    name=_command_name(proc.name()),
                    cpu_ratio=min(1.0, max(0.0, share)),
                    rss_bytes=proc.memory_info().rss,
                )
            except psutil.ZombieProcess:  # died since its status was read
                return psutil.STATUS_ZOMBIE, None
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return status, None  # it was there: counted, without details
    except psutil.ZombieProcess:  # before NoSuchProcess, which it is a kind of
        return psutil.STATUS_ZOMBIE, None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None, None


def _command_name(name: str) -> str:
    """The kernel's command name, never more.

    psutil completes a 15-character name from the first word of the command line, and a
    process that rewrote its title (``setproctitle``) may have put its arguments there,
    passwords included. Cut back to what the kernel keeps, nothing of it leaves.
    """
    return name[:COMM_LENGTH]
