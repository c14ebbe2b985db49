"""Turn snapshots of this server into observations in the shared vocabulary.

The health inspection (every interval) covers CPU, load, memory, filesystems, disk and
interface rates, processes, RAID, sensors, failed units and the clock; the full
inspection (daily, and the first after start) adds SMART health and the busiest
processes. Rates need two snapshots: :meth:`Inspector.prime` takes the first, and an
inspection without an earlier snapshot leaves the rates out instead of guessing. So do
the busiest processes: every inspection starts each process's CPU measure (psutil's
``cpu_percent``), and the full one reads it, a share over the interval since the one
before.

Names follow ``docs/observations.md``; ``meta`` carries the server's identity, on full
inspections its asset facts (:mod:`agent.facts`), and, for every reading that could not
be taken, ``unknown.<sample>`` with the reason. The
observation is built as the plain dict the desk receives (:mod:`weibao.delivery.wire`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from agent.host import Host
from agent.identity import BootMemory, Identity
from agent.processes import top_processes
from agent.rates import Rates
from agent.snapshot import CpuTimes, Snapshot
from weibao import __version__
from weibao.clock import Clock
from weibao.delivery.wire import WireObservation, WireSample, observation
from weibao.delivery.wire import sample as _sample

MAX_FAILED_UNITS_LISTED = 20


class Inspector:
    """Builds observations for one inventory device from its host's snapshots."""

    def __init__(
        self,
        device: str,
        host: Host,
        clock: Clock,
        identity: Callable[[], Identity],
        *,
        boot_memory: BootMemory | None = None,
        facts: Callable[[], dict[str, str]] | None = None,
        top: int = 5,
    ) -> None:
        self.device = device
        self.host = host
        self._clock = clock
        self._identity = identity
        self._boot = boot_memory
        self._facts = facts
        self._top = top
        self._rates: Rates[tuple[str, str, str]] = Rates()
        self._cpu: CpuTimes | None = None

    def prime(self) -> None:
        """Take the first snapshot, so the next inspection has rates."""
        self._derive(self.host.snapshot(processes="prime"))

    def inspect(self, full: bool = False) -> WireObservation:
        now = self._clock.now()
        snap = self.host.snapshot(
            smart="now" if full else "skip", processes="measure" if full else "prime"
        )
        samples = [_sample("up", 1), *self._derive(snap), *_levels(snap)]
        meta = {
            **self._identity().meta(),
            "inspection": "full" if full else "health",
            "agent_version": __version__,
        }
        unknown = dict(snap.unknown)
        if self._boot is not None and snap.boot_id:
            try:
                rebooted = self._boot.rebooted(snap.boot_id)
            except OSError as exc:
                unknown["rebooted"] = f"cannot keep the boot id: {exc.strerror}"
            else:
                if rebooted is not None:
                    samples.append(_sample("rebooted", rebooted, 0))
        if snap.failed_units:
            meta["failed_units"] = " ".join(snap.failed_units[:MAX_FAILED_UNITS_LISTED])
        if snap.clock is not None:
            meta["clock_source"] = snap.clock.source
        if full:
            samples.extend(self._top_processes(snap))
            if self._facts is not None:
                meta.update(self._facts())
        meta.update({f"unknown.{key}": why for key, why in sorted(unknown.items())})
        return observation(self.device, now, samples, meta)

    def _derive(self, snap: Snapshot) -> list[WireSample]:
        """The samples that need the previous snapshot: CPU shares and counter rates."""
        samples: list[WireSample] = []
        previous, self._cpu = self._cpu, snap.cpu
        if previous is not None and snap.cpu is not None:
            samples.extend(_cpu_samples(previous, snap.cpu))
        counters: dict[tuple[str, str, str], float] = {}
        for d in snap.disks:
            counters[("disk", d.disk, "read")] = d.read_bytes
            counters[("disk", d.disk, "write")] = d.written_bytes
            counters[("disk", d.disk, "busy")] = d.io_seconds
        for i in snap.interfaces:
            # bits, as SNMP reports traffic: one name for every source
            counters[("bits", i.name, "in")] = i.receive_bytes * 8
            counters[("bits", i.name, "out")] = i.transmit_bytes * 8
            counters[("errors", i.name, "in")] = i.receive_errors
            counters[("errors", i.name, "out")] = i.transmit_errors
            counters[("discards", i.name, "in")] = i.receive_drops
            counters[("discards", i.name, "out")] = i.transmit_drops
        for (kind, name, what), rate in sorted(self._rates.update(counters, snap.taken).items()):
            if kind == "disk" and what == "busy":
                samples.append(_sample("disk_busy_ratio", min(rate, 1.0), disk=name))
            elif kind == "disk":
                samples.append(_sample(f"disk_{what}_bytes_rate", rate, 3, disk=name))
            else:
                samples.append(
                    _sample(f"interface_{kind}_rate", rate, 3, interface=name, direction=what)
                )
        return samples

    def _top_processes(self, snap: Snapshot) -> Iterator[WireSample]:
        by_cpu, by_memory = top_processes(snap.process_usage, self._top)
        for p in by_cpu:
            yield _sample("process_cpu_ratio", p.cpu_ratio, process=p.name, pid=str(p.pid))
        for p in by_memory:
            yield _sample("process_memory_bytes", p.rss_bytes, 0, process=p.name, pid=str(p.pid))


def _cpu_samples(before: CpuTimes, after: CpuTimes) -> list[WireSample]:
    spent = after.total - before.total
    deltas = [a - b for a, b in zip(after.modes().values(), before.modes().values(), strict=True)]
    # A CPU taken offline lowers the totals: that interval has no meaningful share.
    if spent <= 0 or min(deltas) < 0:
        return []
    idle = after.idle - before.idle
    iowait = after.iowait - before.iowait
    return [
        _sample("cpu_usage_ratio", min(1.0, (spent - idle - iowait) / spent)),
        _sample("cpu_iowait_ratio", iowait / spent),
    ]


def _levels(snap: Snapshot) -> Iterator[WireSample]:
    """The samples one snapshot gives on its own."""
    if snap.uptime_seconds is not None:
        yield _sample("uptime_seconds", snap.uptime_seconds, 3)
    if snap.load is not None:
        yield _sample("load1", snap.load.load1, 2)
    if snap.memory is not None and snap.memory.total_bytes > 0:
        m = snap.memory
        used = m.total_bytes - m.available_bytes
        yield _sample("memory_usage_ratio", max(0, used) / m.total_bytes)
        if m.swap_total_bytes > 0:
            swap_used = m.swap_total_bytes - m.swap_free_bytes
            yield _sample("swap_usage_ratio", max(0, swap_used) / m.swap_total_bytes)
    for fs in snap.filesystems:
        used = fs.size_bytes - fs.free_bytes
        if used + fs.avail_bytes > 0:  # as df's Use%: root's reserved blocks count as used
            ratio = used / (used + fs.avail_bytes)
            yield _sample("filesystem_usage_ratio", ratio, mountpoint=fs.mountpoint)
        if fs.files > 0:  # btrfs and some network filesystems have no inode table
            ratio = (fs.files - fs.files_free) / fs.files
            yield _sample("filesystem_inodes_usage_ratio", ratio, mountpoint=fs.mountpoint)
        yield _sample("filesystem_readonly", fs.readonly, 0, mountpoint=fs.mountpoint)
    for i in snap.interfaces:
        if i.oper_up is not None:
            yield _sample("interface_up", i.oper_up, 0, interface=i.name)
        if i.admin_up is not None:
            yield _sample("interface_admin_up", i.admin_up, 0, interface=i.name)
        if i.speed_bits is not None:
            yield _sample("interface_speed_bits", i.speed_bits, 0, interface=i.name)
    if snap.processes is not None:
        yield _sample("processes_count", snap.processes.total, 0)
        yield _sample("processes_zombie", snap.processes.zombie, 0)
    for array in snap.raid:
        yield _sample("raid_degraded", array.degraded, 0, array=array.name)
        if array.sync_ratio is not None:
            yield _sample("raid_sync_ratio", array.sync_ratio, 4, array=array.name)
    for sensor, celsius in snap.temperatures:
        yield _sample("temperature_celsius", celsius, 1, sensor=sensor)
    for fan, ok in snap.fans:
        yield _sample("fan_ok", ok, 0, fan=fan)
    if snap.failed_units is not None:
        yield _sample("systemd_failed_units", len(snap.failed_units), 0)
    if snap.clock is not None:
        if snap.clock.synchronized is not None:
            yield _sample("clock_synchronized", snap.clock.synchronized, 0)
        if snap.clock.offset_seconds is not None:
            yield _sample("clock_offset_seconds", snap.clock.offset_seconds, 6)
    for disk, ok in snap.smart:
        yield _sample("disk_smart_ok", ok, 0, disk=disk)
