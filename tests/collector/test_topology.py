"""collector.topology on constructed neighbour facts, and on a real switch's LLDP table."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from collector.topology import (
    Neighbor,
    Observed,
    Status,
    Topology,
    parse_neighbors,
    role_tier,
    suggest,
)
from tests.collector.conftest import inventory
from tests.collector.fakes import SnapshotPool
from tests.collector.recordings import recording
from weibao.inventory.model import DeviceContext, Inventory, SnmpInspection

SNMP = {"snmp": {"community": "env:C"}}


def dev(name: str, kind: str = "switch", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, **extra}


def lldp(name: str = "", port: str = "Gi0/1", **extra: str) -> Neighbor:
    return Neighbor("lldp", port, name, extra.pop("remote_port", "Te1/0/1"), **extra)


def run(inv: Inventory, *observed: Observed) -> Topology:
    return suggest(inv.contexts(), list(observed))


def by_device(topology: Topology) -> dict[str, tuple[Status, tuple[str, ...]]]:
    return {s.device: (s.status, s.proposed) for s in topology.suggestions}


def test_access_switch_with_two_core_uplinks_gets_a_redundant_group() -> None:
    inv = inventory(
        dev("core-1", role="core", address="10.0.0.1"),
        dev("core-2", role="核心", address="10.0.0.2"),
        dev("acc-1", role="access", address="10.0.1.1"),
    )
    seen = Observed(
        "acc-1",
        neighbors=(
            lldp("HQ-CORE-A", "Gi0/49"),  # the sysName the core reported, not its name
            lldp(port="Gi0/50", remote_chassis="00:1E:49:AA:BB:02"),
        ),
    )
    cores = [
        Observed("core-1", sys_name="HQ-CORE-A", neighbors=(lldp("acc-1.hq.example.cn"),)),
        Observed("core-2", chassis="001e.49aa.bb02"),  # Cisco's dotted form
    ]
    topology = run(inv, seen, *cores)
    assert by_device(topology) == {"acc-1": (Status.new, ("core-1", "core-2"))}
    [suggestion] = topology.suggestions
    assert {(link.device, link.neighbor, link.matched_by) for link in suggestion.evidence} == {
        ("acc-1", "core-1", "sys_name"),
        ("acc-1", "core-2", "chassis"),
        ("core-1", "acc-1", "name"),  # the domain is ignored when only one side has one
    }
    assert suggestion.note.startswith("two or more uplinks: a redundant group")
    assert "core-2 (核心) above acc-1 (access)" in suggestion.note
    assert topology.unmatched == () and topology.undirected == () and topology.cycles == ()


def test_servers_and_ups_hang_below_any_network_device() -> None:
    inv = inventory(
        dev("acc-1", address="10.0.1.1", inspect=SNMP),  # no role: the kind decides
        dev("db-1", "server", address="10.0.2.5"),
        dev("ups-1", "ups", address="10.0.2.9"),
    )
    seen = Observed(
        "acc-1",
        neighbors=(
            lldp("localhost", "Gi0/3", remote_address="10.0.2.5"),  # lldpd on the server
            lldp("", "Gi0/4", remote_chassis="10.0.2.9"),  # networkAddress chassis ID
        ),
    )
    topology = run(inv, seen)
    assert by_device(topology) == {
        "db-1": (Status.new, ("acc-1",)),
        "ups-1": (Status.new, ("acc-1",)),
    }
    assert [link.matched_by for link in topology.links] == ["address", "address"]
    assert topology.suggestions[0].note == "acc-1 (switch) above db-1 (server)"


def test_declared_differs_contradicts_and_unconfirmed() -> None:
    inv = inventory(
        dev("core-1", role="core", depends_on="acc-2"),  # upside down
        dev("core-2", role="core"),
        dev("acc-1", role="access", depends_on="core-1"),
        dev("acc-2", role="access", depends_on="core-2"),
        dev("acc-3", role="access", depends_on="core-2"),
    )
    topology = run(
        inv,
        Observed("acc-1", neighbors=(lldp("core-1"),)),
        Observed("acc-2", neighbors=(lldp("core-1"),)),
        Observed("acc-3"),  # LLDP off: nothing to confirm its declaration with
    )
    assert by_device(topology) == {
        "acc-1": (Status.declared, ("core-1",)),
        "acc-2": (Status.differs, ("core-1",)),
        "acc-3": (Status.unconfirmed, ("core-2",)),
        "core-1": (Status.contradicts, ()),
    }
    notes = {s.device: s.note for s in topology.suggestions}
    assert notes["acc-2"] == "not declared: core-1; no link seen to core-2"
    assert "acc-2" in notes["core-1"] and "below" in notes["core-1"]


def test_suggestions_that_would_close_a_loop_are_reported() -> None:
    inv = inventory(
        dev("acc-1", role="access"),
        dev("srv-1", "server", depends_on="acc-1"),
        dev("acc-2", role="access", depends_on="dist-1"),
        # A mistake elsewhere in the inventory: applying the suggestion would close a loop.
        dev("dist-1", role="distribution", depends_on="srv-1"),
    )
    topology = run(inv, Observed("srv-1", neighbors=(lldp("acc-2"),)))
    assert by_device(topology)["srv-1"] == (Status.differs, ("acc-2",))
    assert [set(c) for c in topology.cycles] == [{"acc-2", "dist-1", "srv-1"}]


def test_a_declared_link_upside_down_is_not_proposed_again() -> None:
    inv = inventory(
        dev("srv-1", "server"),
        dev("acc-2", role="access", depends_on="srv-1"),
    )
    topology = run(inv, Observed("srv-1", neighbors=(lldp("acc-2"),)))
    assert by_device(topology) == {
        "srv-1": (Status.new, ("acc-2",)),
        "acc-2": (Status.contradicts, ()),  # proposed: depends_on without srv-1
    }
    assert topology.cycles == ()


def test_links_without_a_direction_say_what_would_decide() -> None:
    inv = inventory(dev("sw-a"), dev("sw-b", role="access"), dev("srv-1", "server"))
    topology = run(
        inv,
        Observed("sw-a", neighbors=(lldp("sw-b"),)),
        Observed("srv-1", neighbors=(lldp("srv-1-peer"),)),
    )
    assert topology.suggestions == ()
    [undirected] = topology.undirected
    assert {undirected.a, undirected.b} == {"sw-a", "sw-b"}
    assert "role" in undirected.reason
    [unknown] = topology.unmatched
    assert unknown.device == "srv-1" and unknown.candidates == ()
    assert "'srv-1-peer'" in unknown.describe()


def test_ambiguous_names_are_reported_not_guessed() -> None:
    inv = inventory(
        dev("acc-1", role="access"),
        dev("core.hq.example.cn", role="core"),
        dev("core.dr.example.cn", role="core"),
    )
    topology = run(inv, Observed("acc-1", neighbors=(lldp("core"),)))
    assert topology.suggestions == ()
    [ambiguous] = topology.unmatched
    assert ambiguous.candidates == ("core.dr.example.cn", "core.hq.example.cn")
    assert "tell them apart" in ambiguous.describe()


def two_customers() -> Inventory:
    def customer(name: str, devices: list[dict[str, Any]]) -> dict[str, Any]:
        contract = {
            "id": f"C-{name}",
            "name": name,
            "start": "2026-01-01",
            "end": "2026-12-31",
            "service_manager": {"name": "Wang Lei"},
            "sites": [{"name": "HQ", "devices": devices}],
        }
        return {"name": name, "contracts": [contract]}

    return Inventory.model_validate(
        {
            "customers": [
                customer("Acme", [dev("acme-acc", role="access"), dev("acme-core", role="core")]),
                # The same private address at another customer must never match.
                customer("Beta", [dev("beta-core", role="core", address="192.168.1.1")]),
            ]
        }
    )


def test_neighbours_match_only_devices_of_the_same_customer() -> None:
    seen = Observed("acme-acc", neighbors=(lldp("", remote_address="192.168.1.1"),))
    topology = run(two_customers(), seen)
    assert topology.links == () and topology.suggestions == ()
    assert [u.neighbor.remote_address for u in topology.unmatched] == ["192.168.1.1"]


def test_parse_neighbors_keeps_rows_that_identify_something() -> None:
    text = json.dumps(
        [
            {"protocol": "lldp", "local_port": "1", "remote_name": "x", "extra": "ignored"},
            {"protocol": "lldp", "local_port": "2", "remote_name": "", "remote_chassis": ""},
            "not a row",
        ]
    )
    assert parse_neighbors(text) == [Neighbor("lldp", "1", "x")]
    assert parse_neighbors("") == []


def test_role_words() -> None:
    assert [role_tier(r) for r in ("Core", "汇聚层", "access-l2", "database", None)] == [
        0,
        1,
        2,
        None,
        None,
    ]


# -- a real switch: the Cisco IE3200 recording has two LLDP neighbours -----------------

IE3200 = "cisco-iosxe_ie32008t2s-ios17-12"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def inspect_recording(ctx: DeviceContext) -> Observed:
    snmp = ctx.device.inspect.snmp
    assert snmp is not None
    driver = SnmpDriver(pool=SnapshotPool({IE3200: recording(IE3200)}), environ={"C": "public"})
    result = asyncio.run(
        driver.inspect_target(ctx.device.name, IE3200, snmp, "switch", Depth.full, NOW, 10.0)
    )
    assert not result.failed, result.observation.error
    return Observed.from_meta(ctx.device.name, result.observation.meta)


def test_recorded_lldp_neighbours_are_matched_to_the_inventory() -> None:
    # lldpRemTable: port-001 -> DE-XXX-XXX-FAC-MP-SW110 Gi1/25 (management 10.46.101.110),
    # port-003 -> a Siemens PLC with chassis "pls" and management address 192.168.100.3.
    inv = inventory(
        dev("ie3200", role="access", address="10.46.101.20", inspect=SNMP),
        dev("DE-XXX-XXX-FAC-MP-SW110", role="distribution"),
        dev("plc-1", "other", address="192.168.100.3"),
    )
    ctx = inv.device_index()["ie3200"]
    assert isinstance(ctx.device.inspect.snmp, SnmpInspection)
    observed = inspect_recording(ctx)
    assert len(observed.neighbors) == 2
    topology = suggest(inv.contexts(), [observed])
    assert by_device(topology) == {
        "ie3200": (Status.new, ("DE-XXX-XXX-FAC-MP-SW110",)),
        "plc-1": (Status.new, ("ie3200",)),
    }
    assert sorted((link.neighbor, link.local_port, link.matched_by) for link in topology.links) == [
        ("DE-XXX-XXX-FAC-MP-SW110", "port-001", "name"),
        ("plc-1", "port-003", "address"),
    ]
