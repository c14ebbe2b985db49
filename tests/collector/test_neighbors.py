"""What the neighbours reader gives ``weibao topology suggest`` to match on: management
addresses, network-address chassis IDs and the device's own chassis ID (synthetic rows
for the cases the recordings do not show; the IE3200 recording covers IPv4 in LLDP)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from collector.driver import Depth
from collector.snmp.oid import Oid
from collector.snmp.readers import EntityIndex, ReadContext
from collector.snmp.readers.neighbors import NeighborsReader
from collector.snmp.snapshot import Kind, Snapshot, Var

REM = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
MAN = (1, 0, 8802, 1, 1, 2, 1, 4, 2, 1, 3)
LOC = (1, 0, 8802, 1, 1, 2, 1, 3)
CDP = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)


def octets(value: bytes | str) -> Var:
    return Var(Kind.octets, value.encode() if isinstance(value, str) else value)


def number(value: int) -> Var:
    return Var(Kind.integer, value)


def read(items: Sequence[tuple[Oid, Var]]) -> dict[str, Any]:
    snap = Snapshot(items)
    facts = NeighborsReader().read(ReadContext(snap, Depth.full, EntityIndex())).facts
    out: dict[str, Any] = dict(facts)
    if "neighbors" in out:
        out["neighbors"] = json.loads(out["neighbors"])
    return out


def test_management_address_prefers_ipv4_and_chassis_may_be_an_address() -> None:
    v6 = bytes.fromhex("20010db8000000000000000000000001")
    row1, row2 = (0, 5, 1), (0, 6, 2)
    items = [
        ((*REM, 9, *row1), octets("core-1")),
        ((*MAN, *row1, 1, 9, 10, 0), number(2)),  # a length that does not fit: skipped
        ((*MAN, *row1, 1, 4, 10, 0, 0, 1), number(2)),
        ((*MAN, *row1, 2, 16, *v6), number(2)),  # both families: IPv4 is kept
        ((*REM, 4, *row2), number(5)),  # chassis subtype networkAddress
        ((*REM, 5, *row2), octets(bytes([1, 192, 168, 7, 9]))),
        ((*REM, 9, *row2), octets("")),
        ((*LOC, 1, 0), number(4)),  # our own chassis: a MAC
        ((*LOC, 2, 0), octets(bytes.fromhex("001e49aabb01"))),
    ]
    facts = read(items)
    assert [
        (n["remote_name"], n["remote_chassis"], n["remote_address"]) for n in facts["neighbors"]
    ] == [
        ("core-1", "", "10.0.0.1"),
        ("", "192.168.7.9", "192.168.7.9"),
    ]
    assert facts["lldp_chassis"] == "00:1e:49:aa:bb:01"


def test_ipv6_only_management_address() -> None:
    v6 = bytes.fromhex("20010db8000000000000000000000001")
    row = (0, 5, 1)
    facts = read([((*REM, 9, *row), octets("core-1")), ((*MAN, *row, 2, 16, *v6), number(2))])
    assert facts["neighbors"][0]["remote_address"] == "2001:db8::1"
    assert "lldp_chassis" not in facts


def test_cdp_address() -> None:
    row = (10101, 3)
    items = [
        ((*CDP, 6, *row), octets("core-sw")),
        ((*CDP, 3, *row), number(1)),  # ip
        ((*CDP, 4, *row), octets(bytes([10, 1, 2, 3]))),
    ]
    assert read(items)["neighbors"][0]["remote_address"] == "10.1.2.3"
