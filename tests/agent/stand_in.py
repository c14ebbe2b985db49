"""A stand-in for the psutil module, answering as psutil would on the fixture machine.

psutil is a library the agent calls, not a peer it talks to: there is no psutil server to
start. So the readers' tests check what the agent makes of psutil's answers, fed in with
psutil's own namedtuple types (``psutil._ntuples``, the types psutil itself returns), and
``test_live.py`` checks the real psutil path against this machine's kernel and ``df``.

The values are those of the fixture tree under ``fixtures/host`` (``/proc/stat``,
``meminfo``, ``diskstats``, ``net/dev``, ``mounts``, ``<pid>/stat``), so a test may
read them either way; ``test_system.py`` has real psutil read that tree through
``psutil.PROCFS_PATH`` and checks it tells the same.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
from psutil import _ntuples as ntp

KiB = 1024


@dataclass
class StandInProcess:
    """Answers as a ``psutil.Process`` does; ``gone`` raises as for a process that
    exited, ``percent`` is what ``cpu_percent`` says after its first call (0.0)."""

    pid: int
    command: str
    state: str = psutil.STATUS_SLEEPING
    percent: float = 0.0
    rss: int = 0
    gone: bool = False
    primed: bool = False

    def oneshot(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def _check(self) -> None:
        if self.gone:
            raise psutil.NoSuchProcess(self.pid)

    def status(self) -> str:
        self._check()
        return self.state

    def name(self) -> str:
        self._check()
        return self.command

    def cpu_percent(self, interval: float | None = None) -> float:
        self._check()
        if self.state == psutil.STATUS_ZOMBIE:
            raise psutil.ZombieProcess(self.pid)
        first, self.primed = not self.primed, True
        return 0.0 if first else self.percent

    def memory_info(self) -> ntp.pmem:
        self._check()
        return ntp.pmem(rss=self.rss, vms=2 * self.rss, shared=0, text=0, lib=0, data=0, dirty=0)


def cpu_times(**seconds: float) -> Any:
    """psutil's Linux ``scputimes`` (it builds the type at import, from the kernel's
    fields: hence ``_ntuples.scputimes`` rather than a literal)."""
    fields: dict[str, float] = dict.fromkeys(ntp.scputimes._fields, 0.0)
    fields.update(seconds)
    return ntp.scputimes(**fields)


def disk_io(reads: int, read_sectors: int, writes: int, written_sectors: int, busy_ms: int) -> Any:
    return ntp.sdiskio(
        read_count=reads,
        write_count=writes,
        read_bytes=read_sectors * 512,
        write_bytes=written_sectors * 512,
        read_time=0,
        write_time=0,
        read_merged_count=0,
        write_merged_count=0,
        busy_time=busy_ms,
    )


def net_io(recv: int, errin: int, dropin: int, sent: int, errout: int, dropout: int) -> Any:
    return ntp.snetio(
        bytes_sent=sent,
        bytes_recv=recv,
        packets_sent=0,
        packets_recv=0,
        errin=errin,
        errout=errout,
        dropin=dropin,
        dropout=dropout,
    )


def nic(flags: str, speed: int = 0) -> Any:
    return ntp.snicstats(
        isup="running" in flags.split(","),
        duplex=psutil.NIC_DUPLEX_FULL if speed else psutil.NIC_DUPLEX_UNKNOWN,
        speed=speed,
        mtu=1500,
        flags=flags,
    )


def usage_from(statvfs: os.statvfs_result) -> Any:
    """``psutil.disk_usage``'s own arithmetic over one statvfs answer."""
    total = statvfs.f_blocks * statvfs.f_frsize
    used = total - statvfs.f_bfree * statvfs.f_frsize
    free = statvfs.f_bavail * statvfs.f_frsize
    percent = round(used / (used + free) * 100, 1) if used + free else 0.0
    return ntp.sdiskusage(total=total, used=used, free=free, percent=percent)


def fixture_processes() -> list[StandInProcess]:
    return [
        StandInProcess(1, "systemd", rss=3000 * 4096),
        StandInProcess(42, "my (odd) name", rss=500 * 4096),
        StandInProcess(77, "worker", psutil.STATUS_ZOMBIE),
        StandInProcess(78, "worker", psutil.STATUS_ZOMBIE),
    ]


@dataclass
class StandInPsutil:
    """The functions of psutil the agent calls (:class:`agent.system.Psutil`).

    Every answer is a field a test may change (``stand_in.disks["sda"] = ...``); a name
    in ``failing`` raises its exception instead, as psutil does when a file is missing.
    """

    statvfs: Callable[[str], os.statvfs_result]
    times: Any = field(
        default_factory=lambda: cpu_times(
            user=100.0, nice=2.0, system=30.0, idle=800.0, iowait=15.0, softirq=3.0,
            steal=1.0, guest=0.5,
        )
    )  # fmt: skip
    cpus: int | None = 2
    load: tuple[float, float, float] = (1.5, 0.8, 0.6)
    memory: Any = field(
        default_factory=lambda: ntp.svmem(
            total=8_000_000 * KiB, available=2_000_000 * KiB, percent=75.0,
            used=6_200_000 * KiB, free=500_000 * KiB, active=0, inactive=0,
            buffers=100_000 * KiB, cached=1_200_000 * KiB, shared=0, slab=0,
        )
    )  # fmt: skip
    swap: Any = field(
        default_factory=lambda: ntp.sswap(
            total=2_000_000 * KiB, used=500_000 * KiB, free=1_500_000 * KiB, percent=25.0,
            sin=0, sout=0,
        )
    )  # fmt: skip
    booted: float = 1_795_300_000.0
    partitions: list[Any] = field(
        default_factory=lambda: [
            ntp.sdiskpart("/dev/sda1", "/", "ext4", "rw,relatime,errors=remount-ro"),
            ntp.sdiskpart("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
            ntp.sdiskpart("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
            ntp.sdiskpart("tmpfs", "/run", "tmpfs", "rw,nosuid,nodev,size=812000k,mode=755"),
            ntp.sdiskpart("/dev/md0", "/data", "xfs", "rw,relatime"),
            ntp.sdiskpart("/dev/sda1", "/var/lib/kubelet/pods/x/volumes", "ext4", "rw,relatime"),
            ntp.sdiskpart("/dev/loop0", "/snap/core20/1234", "squashfs", "ro,nodev,relatime"),
            ntp.sdiskpart("overlay", "/var/lib/docker/overlay2/abc/merged", "overlay", "rw"),
            ntp.sdiskpart("nas01:/export/backup", "/mnt/nfs", "nfs4", "rw,relatime,vers=4.2"),
            ntp.sdiskpart("/dev/sdb1", "/mnt/back up", "ext4", "ro,relatime"),
        ]
    )
    disks: dict[str, Any] = field(
        default_factory=lambda: {
            "sda": disk_io(1000, 20000, 2000, 40000, 1500),
            "sda1": disk_io(900, 18000, 1900, 38000, 1400),
            "sdb": disk_io(500, 10000, 100, 2000, 300),
            "md0": disk_io(300, 6000, 80, 1600, 0),
            "loop0": disk_io(50, 100, 0, 0, 10),
            "dm-0": disk_io(800, 16000, 1800, 36000, 1300),
            "nvme0n1": disk_io(4000, 80000, 6000, 120000, 2500),
        }
    )
    nics: dict[str, Any] = field(
        default_factory=lambda: {
            "lo": net_io(500000, 0, 0, 500000, 0, 0),
            "eth0": net_io(1_000_000, 5, 2, 2_000_000, 1, 0),
            "eth1": net_io(0, 0, 0, 0, 0, 0),
            "bond0": net_io(1_000_000, 5, 2, 2_000_000, 1, 0),
            "veth1a2b3c": net_io(100, 0, 0, 100, 0, 0),
        }
    )
    links: dict[str, Any] = field(
        default_factory=lambda: {
            "lo": nic("up,loopback,running"),
            "eth0": nic("up,broadcast,running,multicast", 1000),
            "eth1": nic("broadcast,multicast"),
            "bond0": nic("up,broadcast,running,master,multicast", 2000),
            "veth1a2b3c": nic("up,broadcast,running,multicast", 10000),
        }
    )
    procs: list[StandInProcess] = field(default_factory=fixture_processes)
    temperatures: dict[str, list[Any]] = field(
        default_factory=lambda: {
            # two coretemp chips (hwmon0, hwmon2): psutil lists them under one name
            "coretemp": [
                ntp.shwtemp("Package id 0", 45.0, 80.0, 100.0),
                ntp.shwtemp("", 43.5, None, None),
                ntp.shwtemp("Package id 0", 47.0, 80.0, 100.0),
            ],
            "nct6775": [ntp.shwtemp("SYSTIN", 38.0, None, None)],
        }
    )
    failing: dict[str, Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def _answer(self, name: str, value: Any) -> Any:
        self.calls.append(name)
        if name in self.failing:
            raise self.failing[name]
        return value

    def cpu_times(self, percpu: bool = False) -> Any:
        return self._answer("cpu_times", self.times)

    def cpu_count(self, logical: bool = True) -> int | None:
        return self._answer("cpu_count", self.cpus)  # type: ignore[no-any-return]

    def getloadavg(self) -> tuple[float, float, float]:
        return self._answer("getloadavg", self.load)  # type: ignore[no-any-return]

    def virtual_memory(self) -> Any:
        return self._answer("virtual_memory", self.memory)

    def swap_memory(self) -> Any:
        return self._answer("swap_memory", self.swap)

    def boot_time(self) -> float:
        return self._answer("boot_time", self.booted)  # type: ignore[no-any-return]

    def disk_partitions(self, all: bool = False) -> list[Any]:
        assert all, "the agent asks for every mount, network ones included"
        return self._answer("disk_partitions", list(self.partitions))  # type: ignore[no-any-return]

    def disk_usage(self, path: str) -> Any:
        self._answer("disk_usage", None)
        return usage_from(self.statvfs(path))

    def disk_io_counters(self, perdisk: bool = False, nowrap: bool = True) -> Any:
        assert perdisk and not nowrap, "the agent reads raw counters per disk"
        return self._answer("disk_io_counters", dict(self.disks))

    def net_io_counters(self, pernic: bool = False, nowrap: bool = True) -> Any:
        assert pernic and not nowrap, "the agent reads raw counters per interface"
        return self._answer("net_io_counters", dict(self.nics))

    def net_if_stats(self) -> dict[str, Any]:
        return self._answer("net_if_stats", dict(self.links))  # type: ignore[no-any-return]

    def process_iter(self) -> Iterator[StandInProcess]:
        return iter(self._answer("process_iter", list(self.procs)))

    def sensors_temperatures(self) -> dict[str, list[Any]]:
        return self._answer("sensors_temperatures", self.temperatures)  # type: ignore[no-any-return]
