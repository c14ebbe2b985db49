"""Readers on small synthetic tables: the edge cases the recordings do not show."""

from __future__ import annotations

import json

from collector.driver import Depth
from collector.snmp.oid import Oid
from collector.snmp.readers import EntityIndex, MetricSpec, ReadContext, TableMetricReader
from collector.snmp.readers.entity import EntityReader
from collector.snmp.readers.host import HostResourcesReader
from collector.snmp.readers.interfaces import InterfacesOptions, InterfacesReader
from collector.snmp.readers.neighbors import NeighborsReader
from collector.snmp.snapshot import Kind, Snapshot, Var

IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
ENT = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)


def ctx(items: list[tuple[Oid, Var]], depth: Depth = Depth.health) -> ReadContext:
    snap = Snapshot(items)
    return ReadContext(snap, depth, EntityIndex.from_snapshot(snap))


def text(value: str) -> Var:
    return Var(Kind.octets, value.encode())


def number(value: int, kind: Kind = Kind.integer) -> Var:
    return Var(kind, value)


def test_interfaces_names_aliases_duplicates_and_ignores() -> None:
    items = [
        ((*IF, 2, 1), text("lo")),
        ((*IF, 3, 1), number(24)),
        ((*IF, 8, 1), number(1)),
        ((*IFX, 1, 2), text("ge1")),
        ((*IFX, 18, 2), text("uplink to core")),
        ((*IF, 8, 2), number(1)),
        ((*IFX, 1, 3), text("ge1")),  # a repeated name
        ((*IF, 8, 3), number(4)),  # unknown: no interface_up sample
        ((*IF, 7, 3), number(1)),
        ((*IF, 2, 4), text("NULL0")),
        ((*IF, 8, 4), number(1)),
        ((*IF, 8, 5), number(2)),  # no name at all
        ((*IF, 5, 5), number(4294967295, Kind.gauge32)),
        ((*IFX, 15, 5), number(25000, Kind.gauge32)),
    ]
    reader = InterfacesReader(InterfacesOptions(ignore_names=["^NULL"]))  # type: ignore[list-item]
    samples = reader.read(ctx(items)).samples
    up = {tuple(sorted(s.labels.items())): s.value for s in samples if s.name == "interface_up"}
    assert up == {
        (("alias", "uplink to core"), ("interface", "ge1")): 1.0,
        (("interface", "ifIndex 5"),): 0.0,
    }
    speeds = [s for s in samples if s.name == "interface_speed_bits"]
    assert speeds[0].value == 25e9  # ifHighSpeed beats the saturated ifSpeed
    assert any(s.labels.get("interface") == "ge1 #3" for s in samples)


def test_interface_counters_prefer_64_bit_octets() -> None:
    items = [
        ((*IFX, 1, 1), text("ge1")),
        ((*IF, 5, 1), number(10**9, Kind.gauge32)),
        ((*IF, 10, 1), number(5, Kind.counter32)),
        ((*IFX, 6, 1), number(2**40, Kind.counter64)),
        ((*IF, 14, 1), number(3, Kind.counter32)),
        ((*IFX, 19, 1), number(77, Kind.ticks)),
    ]
    counters = InterfacesReader().read(ctx(items)).counters
    bits = next(c for c in counters if c.name == "interface_bits_rate")
    assert (bits.value, bits.width, bits.scale, bits.marker) == (2**40, 64, 8.0, 77)
    errors = next(c for c in counters if c.name == "interface_errors_rate")
    assert errors.width == 32 and errors.max_rate is not None
    assert errors.max_rate < 3e6  # a 1 Gbit/s port cannot exceed ~1.5 M frames/s


def test_storage_overflow_and_pseudo_filesystems() -> None:
    hr, fixed = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1), Var(Kind.oid, (1, 3, 6, 1, 2, 1, 25, 2, 1, 4))
    items = [
        ((*hr, 2, 1), fixed),
        ((*hr, 3, 1), text("/data")),
        ((*hr, 4, 1), number(65536)),
        ((*hr, 5, 1), number(-2147483648)),  # 2^31 units: an agent's signed overflow
        ((*hr, 6, 1), number(2**30)),
        ((*hr, 2, 2), fixed),
        ((*hr, 3, 2), text("/run/user/0")),
        ((*hr, 4, 2), number(4096)),
        ((*hr, 5, 2), number(10)),
        ((*hr, 6, 2), number(5)),
    ]
    samples = HostResourcesReader().read(ctx(items)).samples
    assert [(s.labels, s.value) for s in samples] == [({"mountpoint": "/data"}, 0.5)]


def test_entity_sensor_scale_precision_and_status() -> None:
    sensor = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
    items = [
        ((*ENT, 7, 10), text("CPU temp")),
        ((*sensor, 1, 10), number(8)),  # celsius
        ((*sensor, 2, 10), number(8)),  # milli
        ((*sensor, 3, 10), number(1)),  # one decimal
        ((*sensor, 4, 10), number(455000)),
        ((*sensor, 5, 10), number(1)),
        ((*sensor, 1, 11), number(8)),
        ((*sensor, 4, 11), number(99)),
        ((*sensor, 5, 11), number(2)),  # unavailable
    ]
    samples = EntityReader().read(ctx(items)).samples
    assert [(s.labels, s.value) for s in samples] == [({"sensor": "CPU temp"}, 45.5)]


def test_metric_ratio_descr_filter_and_scalar() -> None:
    base = (1, 3, 6, 1, 4, 1, 99999, 1)
    spec = MetricSpec.model_validate(
        {
            "name": "memory_usage_ratio",
            "used": "1.3.6.1.4.1.99999.1.5",
            "total": "1.3.6.1.4.1.99999.1.6",
            "descr": "1.3.6.1.4.1.99999.1.2",
            "labels": {"pool": "{descr} #{index[0]}"},
            "descr_match": "^P",
        }
    )
    items = [
        ((*base, 2, 1), text("Processor")),
        ((*base, 5, 1), number(25)),
        ((*base, 6, 1), number(100)),
        ((*base, 2, 2), text("IO")),
        ((*base, 5, 2), number(1)),
        ((*base, 6, 2), number(2)),
    ]
    samples = TableMetricReader(spec).read(ctx(items)).samples
    assert [(s.labels, s.value) for s in samples] == [({"pool": "Processor #1"}, 0.25)]
    scalar = MetricSpec.model_validate({"name": "load1", "column": "1.3.6.1.4.1.99999.9.0"})
    reader = TableMetricReader(scalar)
    assert reader.gets() == [(1, 3, 6, 1, 4, 1, 99999, 9, 0)] and reader.walks(Depth.full) == []
    assert reader.read(ctx([((1, 3, 6, 1, 4, 1, 99999, 9, 0), number(3))])).samples[0].value == 3


def test_cdp_neighbours_use_interface_names() -> None:
    cdp = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)
    items = [
        ((*IFX, 1, 10101), text("Gi0/1")),
        ((*cdp, 6, 10101, 3), text("core-sw")),
        ((*cdp, 7, 10101, 3), text("TenGigabitEthernet1/0/1")),
    ]
    reader = NeighborsReader()
    assert reader.walks(Depth.health) == ()
    facts = reader.read(ctx(items, Depth.full)).facts
    assert json.loads(facts["neighbors"]) == [
        {
            "protocol": "cdp",
            "local_port": "Gi0/1",
            "remote_name": "core-sw",
            "remote_port": "TenGigabitEthernet1/0/1",
            "remote_chassis": "",
            "remote_address": "",
        }
    ]
