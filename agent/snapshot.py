"""What the readers saw on this machine at one moment, before anyone judged it.

One :class:`Snapshot` feeds two consumers: the observation for the desk (which turns
counters into rates and speaks the shared vocabulary) and ``/metrics`` (which exports the
raw counters, Prometheus style, and lets PromQL take the rates). Keeping the readings
raw here is what lets both share one set of readers.

A field that is ``None`` could not be read; ``unknown`` says why, keyed by the sample
name the observation would have carried. "Unknown" is never written as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CpuTimes:
    """Seconds all CPUs together spent in each mode since boot (``psutil.cpu_times``)."""

    user: float
    nice: float
    system: float
    idle: float
    iowait: float
    irq: float
    softirq: float
    steal: float
    cpus: int

    @property
    def total(self) -> float:
        # guest and guest_nice are already inside user and nice: leaving them out avoids
        # counting a virtual machine's time twice.
        return (
            self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
        )

    def modes(self) -> dict[str, float]:
        return {
            "user": self.user,
            "nice": self.nice,
            "system": self.system,
            "idle": self.idle,
            "iowait": self.iowait,
            "irq": self.irq,
            "softirq": self.softirq,
            "steal": self.steal,
        }


@dataclass(frozen=True)
class Memory:
    total_bytes: int
    available_bytes: int
    swap_total_bytes: int
    swap_free_bytes: int


@dataclass(frozen=True)
class Load:
    load1: float
    load5: float
    load15: float


@dataclass(frozen=True)
class FilesystemUsage:
    """Space (``psutil.disk_usage``) and inodes (``statvfs``) of one mount."""

    mountpoint: str
    device: str
    fstype: str
    size_bytes: int
    free_bytes: int
    avail_bytes: int
    files: int
    files_free: int
    readonly: bool


@dataclass(frozen=True)
class DiskCounters:
    """Cumulative I/O of one whole block device (``psutil.disk_io_counters``)."""

    disk: str
    reads: int
    writes: int
    read_bytes: int
    written_bytes: int
    io_seconds: float


@dataclass(frozen=True)
class Interface:
    """Cumulative counters (``psutil.net_io_counters``) and link state (``net_if_stats``)."""

    name: str
    receive_bytes: int
    transmit_bytes: int
    receive_errors: int
    transmit_errors: int
    receive_drops: int
    transmit_drops: int
    oper_up: bool | None = None
    admin_up: bool | None = None
    speed_bits: float | None = None


@dataclass(frozen=True)
class ProcessCounts:
    total: int
    zombie: int


@dataclass(frozen=True)
class ProcessUsage:
    """One process: its share of all CPUs since the previous collection, and its
    resident memory now."""

    pid: int
    name: str
    cpu_ratio: float
    rss_bytes: int


@dataclass(frozen=True)
class RaidArray:
    """One md array from ``/proc/mdstat``.

    ``sync_ratio`` is the progress of a rebuild (recovery, resync or reshape) that is
    running now, else ``None``; a routine ``check`` is not a rebuild.
    """

    name: str
    level: str
    degraded: bool
    failed_members: int = 0
    sync_action: str | None = None
    sync_ratio: float | None = None


@dataclass(frozen=True)
class ClockState:
    offset_seconds: float | None
    synchronized: bool | None
    source: str  # "chrony" or "timesyncd"


@dataclass(frozen=True)
class Snapshot:
    """Everything one pass of the readers saw; ``taken`` is a monotonic time in seconds."""

    taken: float
    cpu: CpuTimes | None = None
    load: Load | None = None
    memory: Memory | None = None
    uptime_seconds: float | None = None
    boot_time_seconds: float | None = None
    boot_id: str | None = None
    filesystems: tuple[FilesystemUsage, ...] = ()
    disks: tuple[DiskCounters, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    processes: ProcessCounts | None = None
    process_usage: tuple[ProcessUsage, ...] = ()
    raid: tuple[RaidArray, ...] = ()
    temperatures: tuple[tuple[str, float], ...] = ()
    fans: tuple[tuple[str, bool], ...] = ()
    failed_units: tuple[str, ...] | None = None
    clock: ClockState | None = None
    smart: tuple[tuple[str, bool], ...] = ()
    unknown: dict[str, str] = field(default_factory=dict)
