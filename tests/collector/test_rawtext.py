"""The SNMP values an inspection received, as the text a ticket's snapshot shows."""

from __future__ import annotations

import asyncio

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from collector.snmp.rawtext import render
from collector.snmp.snapshot import Kind, Snapshot, Var
from tests.collector.fakes import SnapshotPool
from tests.collector.test_driver import ENV, T0, context, switch


def test_each_value_reads_like_snmpwalk_numeric_output() -> None:
    snap = Snapshot(
        [
            ((1, 3, 6, 1, 2, 1, 1, 5, 0), Var(Kind.octets, b"core-sw")),
            ((1, 3, 6, 1, 2, 1, 1, 2, 0), Var(Kind.oid, (1, 3, 6, 1, 4, 1, 2011, 2, 23))),
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), Var(Kind.ticks, 12345)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3), Var(Kind.integer, 2)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 6, 3), Var(Kind.octets, b"\x00\xe0\xfc\x01\x02\x03")),
            ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 1), Var(Kind.ip, b"\xc0\x00\x02\x01")),
            ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 3), Var(Kind.counter64, 2**64 - 1)),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 3), Var(Kind.gauge32, 10**9)),
        ]
    )
    assert render(snap).splitlines() == [
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.2011.2.23",
        ".1.3.6.1.2.1.1.3.0 = Timeticks: 12345",
        '.1.3.6.1.2.1.1.5.0 = STRING: "core-sw"',
        ".1.3.6.1.2.1.2.2.1.5.3 = Gauge32: 1000000000",
        ".1.3.6.1.2.1.2.2.1.6.3 = Hex-STRING: 00 E0 FC 01 02 03",
        ".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: 2",
        ".1.3.6.1.2.1.4.20.1.1.1 = IpAddress: 192.0.2.1",
        f".1.3.6.1.2.1.31.1.1.1.6.3 = Counter64: {2**64 - 1}",
    ]


def test_a_large_walk_is_cut_with_a_count_of_what_was_left_out() -> None:
    rows = [((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, i), Var(Kind.integer, 1)) for i in range(1, 2001)]
    text = render(Snapshot(rows), limit=4096)
    assert len(text) <= 4096
    lines = text.splitlines()
    assert lines[0] == ".1.3.6.1.2.1.2.2.1.8.1 = INTEGER: 1"
    kept = len(lines) - 1
    assert lines[-1] == f"… {2000 - kept} more values not kept"


def test_the_driver_keeps_what_the_device_answered_for_the_ticket() -> None:
    driver = SnmpDriver(pool=SnapshotPool({"192.0.2.1": switch(100_000, 10, 0)}), environ=ENV)
    result = asyncio.run(driver.inspect(context(), Depth.health, T0))
    lines = result.raw["snmp"].splitlines()
    assert '.1.3.6.1.2.1.1.1.0 = STRING: "test switch"' in lines
    assert ".1.3.6.1.2.1.2.2.1.8.1 = INTEGER: 1" in lines  # ifOperStatus of ge1
    assert result.observation.raw == {}  # the scheduler attaches it to what it sends
