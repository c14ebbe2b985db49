"""``/metrics``: this server's raw readings and the agent's own health, for Prometheus.

A :class:`HostCollector` reads a fresh snapshot at every scrape and yields metric
families into a registry created by the caller (never the process-wide default one, so
tests and the benchmark can hold several). Counters stay counters (``_total``) and
Prometheus takes the rates; units are base units (``_bytes``, ``_seconds``, ``_ratio``).
The families are declared as data below: adding one is one line, not a branch.

The command-based readings (systemd, clock, SMART) come from the probes' cache, so a
scrape forks nothing most of the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.snapshot import Snapshot
from agent.stats import AgentStats
from weibao import __version__
from weibao.errors import WeibaoError

Rows = Iterable[tuple[tuple[str, ...], float]]


@dataclass(frozen=True)
class Family:
    name: str
    kind: Literal["gauge", "counter"]
    help: str
    labels: tuple[str, ...]
    rows: Callable[[Snapshot], Rows]

    def build(self, snap: Snapshot) -> Metric | None:
        rows = list(self.rows(snap))
        if not rows:
            return None
        family: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.help, labels=self.labels)
        else:
            family = GaugeMetricFamily(self.name, self.help, labels=self.labels)
        for labels, value in rows:
            family.add_metric(list(labels), float(value))
        return family


def _scalar(section: str, attr: str | None = None) -> Callable[[Snapshot], Rows]:
    """One unlabelled value: ``snapshot.section.attr``, or nothing where it is unknown."""

    def rows(snap: Snapshot) -> Rows:
        value = getattr(snap, section)
        if value is not None and attr is not None:
            value = getattr(value, attr)
        return [((), value)] if value is not None else []

    return rows


def _cpu(s: Snapshot) -> Rows:
    return [((mode,), v) for mode, v in s.cpu.modes().items()] if s.cpu else []


def _fs(attr: str) -> Callable[[Snapshot], Rows]:
    return lambda s: [((f.mountpoint, f.device, f.fstype), getattr(f, attr)) for f in s.filesystems]


def _disk(attr: str) -> Callable[[Snapshot], Rows]:
    return lambda s: [((d.disk,), getattr(d, attr)) for d in s.disks]


def _nic(attr: str, scale: float = 1.0) -> Callable[[Snapshot], Rows]:
    return lambda s: [
        ((i.name,), getattr(i, attr) * scale) for i in s.interfaces if getattr(i, attr) is not None
    ]


def _named(section: str) -> Callable[[Snapshot], Rows]:
    return lambda s: [((name,), value) for name, value in getattr(s, section)]


def _failed_units(s: Snapshot) -> Rows:
    return [((), len(s.failed_units))] if s.failed_units is not None else []


FS = ("mountpoint", "device", "fstype")
DISK = ("disk",)
NIC = ("interface",)
P = "weibao_node_"
G: Final = "gauge"
C: Final = "counter"
FAMILIES: tuple[Family, ...] = (
    Family(P + "cpu_seconds", C, "CPU time of all CPUs by mode.", ("mode",), _cpu),
    Family(P + "cpus", G, "Online CPUs.", (), _scalar("cpu", "cpus")),
    Family(P + "load1", G, "1-minute load average.", (), _scalar("load", "load1")),
    Family(P + "load5", G, "5-minute load average.", (), _scalar("load", "load5")),
    Family(P + "load15", G, "15-minute load average.", (), _scalar("load", "load15")),
    Family(P + "memory_total_bytes", G, "Physical memory.", (), _scalar("memory", "total_bytes")),
    Family(
        P + "memory_available_bytes",
        G,
        "Memory available without swapping.",
        (),
        _scalar("memory", "available_bytes"),
    ),
    Family(P + "swap_total_bytes", G, "Swap space.", (), _scalar("memory", "swap_total_bytes")),
    Family(P + "swap_free_bytes", G, "Unused swap.", (), _scalar("memory", "swap_free_bytes")),
    Family(P + "boot_time_seconds", G, "Boot time, Unix time.", (), _scalar("boot_time_seconds")),
    Family(P + "filesystem_size_bytes", G, "Filesystem size.", FS, _fs("size_bytes")),
    Family(
        P + "filesystem_free_bytes", G, "Free space with root's reserve.", FS, _fs("free_bytes")
    ),
    Family(P + "filesystem_avail_bytes", G, "Space for non-root users.", FS, _fs("avail_bytes")),
    Family(P + "filesystem_files", G, "Inodes.", FS, _fs("files")),
    Family(P + "filesystem_files_free", G, "Free inodes.", FS, _fs("files_free")),
    Family(P + "filesystem_readonly", G, "1 when mounted read-only.", FS, _fs("readonly")),
    Family(P + "disk_read_bytes", C, "Bytes read.", DISK, _disk("read_bytes")),
    Family(P + "disk_written_bytes", C, "Bytes written.", DISK, _disk("written_bytes")),
    Family(P + "disk_reads_completed", C, "Reads completed.", DISK, _disk("reads")),
    Family(P + "disk_writes_completed", C, "Writes completed.", DISK, _disk("writes")),
    Family(P + "disk_io_time_seconds", C, "Time the disk was busy.", DISK, _disk("io_seconds")),
    Family(P + "network_receive_bytes", C, "Bytes received.", NIC, _nic("receive_bytes")),
    Family(P + "network_transmit_bytes", C, "Bytes sent.", NIC, _nic("transmit_bytes")),
    Family(P + "network_receive_errors", C, "Receive errors.", NIC, _nic("receive_errors")),
    Family(P + "network_transmit_errors", C, "Transmit errors.", NIC, _nic("transmit_errors")),
    Family(P + "network_receive_drop", C, "Received packets dropped.", NIC, _nic("receive_drops")),
    Family(P + "network_transmit_drop", C, "Sent packets dropped.", NIC, _nic("transmit_drops")),
    Family(P + "network_up", G, "1 when the link is up.", NIC, _nic("oper_up")),
    Family(P + "network_admin_up", G, "1 when enabled by the admin.", NIC, _nic("admin_up")),
    Family(
        P + "network_speed_bytes",
        G,
        "Negotiated link speed, bytes per second.",
        NIC,
        _nic("speed_bits", 1 / 8),
    ),
    Family(P + "processes", G, "Processes.", (), _scalar("processes", "total")),
    Family(P + "processes_zombie", G, "Zombie processes.", (), _scalar("processes", "zombie")),
    Family(
        P + "raid_degraded",
        G,
        "1 when the md array lost redundancy.",
        ("array",),
        lambda s: [((a.name,), a.degraded) for a in s.raid],
    ),
    Family(
        P + "raid_sync_ratio",
        G,
        "Progress of a running md rebuild.",
        ("array",),
        lambda s: [((a.name,), a.sync_ratio) for a in s.raid if a.sync_ratio is not None],
    ),
    Family(
        P + "temperature_celsius", G, "Sensor temperature.", ("sensor",), _named("temperatures")
    ),
    Family(P + "fan_ok", G, "1 when the fan reports normal.", ("fan",), _named("fans")),
    Family(P + "smart_ok", G, "1 when SMART health passed.", DISK, _named("smart")),
    Family(P + "systemd_failed_units", G, "Units in the failed state.", (), _failed_units),
    Family(
        P + "clock_offset_seconds",
        G,
        "Local clock minus reference time.",
        (),
        _scalar("clock", "offset_seconds"),
    ),
    Family(
        P + "clock_synchronized",
        G,
        "1 when the clock is synchronised.",
        (),
        _scalar("clock", "synchronized"),
    ),
)


class HostCollector(Collector):
    """Yields the host's families from a fresh snapshot and the agent's own counters."""

    def __init__(self, snapshot: Callable[[], Snapshot], stats: AgentStats | None = None) -> None:
        self._snapshot = snapshot
        self._stats = stats

    def describe(self) -> list[Metric]:
        return []  # no names to reserve: registering must not take a snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        for spec in FAMILIES:
            family = spec.build(snap)
            if family is not None:
                yield family
        info = GaugeMetricFamily("weibao_agent_info", "The agent's version.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        unknown = GaugeMetricFamily(
            "weibao_agent_unknown_readings",
            "Readings this scrape could not take (reason in the agent's --once --json).",
        )
        unknown.add_metric([], len(snap.unknown))
        yield unknown
        if self._stats is not None:
            yield from agent_families(self._stats)


def agent_families(stats: AgentStats) -> Iterator[Metric]:
    """The agent's account of its own work: inspections, pushes, the spool."""
    yield _counter("inspections", "Inspections taken.", stats.inspections)
    yield _counter(
        "pushed_observations",
        "Observations the desk took (new or replayed).",
        stats.pushed_observations,
    )
    yield _counter(
        "push_failures", "Pushes that failed and left the batch spooled.", stats.push_failures
    )
    if stats.last_push_success is not None:
        yield _gauge(
            "last_push_success_timestamp_seconds",
            "When the desk last took a batch, Unix time.",
            stats.last_push_success,
        )
    if stats.spool is not None:
        yield _gauge("spool_batches", "Batches waiting for the desk.", stats.spool.batches)
        yield _gauge("spool_bytes", "Bytes waiting for the desk.", stats.spool.bytes)
        yield _counter(
            "spool_dropped_batches",
            "Oldest batches dropped because the spool was full.",
            stats.spool.dropped,
        )
        yield _counter(
            "rejected_batches",
            "Batches set aside in the spool's rejected/: refused by the desk as invalid, "
            "unreadable, or not JSON (NaN, Infinity).",
            stats.spool.rejected,
        )
        yield _counter(
            "spool_write_errors",
            "Spool writes the disk refused (full, read-only); the agent then sends directly.",
            stats.spool.write_errors,
        )


def _counter(name: str, help_text: str, value: float) -> Metric:
    family = CounterMetricFamily(f"weibao_agent_{name}", help_text)
    family.add_metric([], value)
    return family


def _gauge(name: str, help_text: str, value: float) -> Metric:
    family = GaugeMetricFamily(f"weibao_agent_{name}", help_text)
    family.add_metric([], value)
    return family


def make_registry(snapshot: Callable[[], Snapshot], stats: AgentStats | None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HostCollector(snapshot, stats))
    return registry


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> WSGIServer:
    """Start the endpoint in a daemon thread; ``server.server_address`` has the real port."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise WeibaoError(f"cannot listen on {host}:{port} for /metrics: {exc.strerror}") from None
    return server
