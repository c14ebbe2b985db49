"""Varbinds in SNMPv2 form to samples, through the built-in catalog (no network)."""

from __future__ import annotations

import json

import pytest

from collector.snmp.oid import Oid, parse_oid
from collector.snmp.snapshot import Kind, Var
from collector.traps.catalog import Catalog
from collector.traps.catalog_files import load_catalog
from collector.traps.mapping import Effects, Trap, map_trap, read_trap, trap_meta
from weibao.observation import Sample

UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
COMMUNITY = (1, 3, 6, 1, 6, 3, 18, 1, 4, 0)
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
ON_BATTERY = "1.3.6.1.2.1.33.1.6.3.2"
ALARM_DESCR = "1.3.6.1.2.1.33.1.6.2.1.2.7"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def i(value: int) -> Var:
    return Var(Kind.integer, value)


def s(text: str) -> Var:
    return Var(Kind.octets, text.encode())


def o(text: str) -> Var:
    return Var(Kind.oid, parse_oid(text))


def trap(oid: str, *varbinds: tuple[str, Var], ticks: int = 4200, version: str = "2c") -> Trap:
    items: list[tuple[Oid, Var]] = [(UPTIME, Var(Kind.ticks, ticks)), (TRAP_OID, o(oid))]
    items += [(parse_oid(name), var) for name, var in varbinds]
    found = read_trap(items, version, "192.0.2.10")
    assert found is not None
    return found


def effects(catalog: Catalog, oid: str, *varbinds: tuple[str, Var]) -> Effects:
    return map_trap(trap(oid, *varbinds), catalog)


def test_link_down_names_the_interface_and_says_whether_it_was_enabled(catalog: Catalog) -> None:
    got = effects(
        catalog,
        LINK_DOWN,
        ("1.3.6.1.2.1.2.2.1.1.3", i(3)),
        ("1.3.6.1.2.1.2.2.1.7.3", i(1)),
        ("1.3.6.1.2.1.2.2.1.8.3", i(2)),
        ("1.3.6.1.2.1.31.1.1.1.1.3", s("GE0/0/3")),
        ("1.3.6.1.2.1.2.2.1.2.3", s("GigabitEthernet0/0/3")),
    )
    assert got.name == "linkDown"
    assert got.states == [
        Sample(name="trap_link_up", labels={"interface": "GE0/0/3", "admin": "up"}, value=0)
    ]
    assert got.samples == got.events == []


@pytest.mark.parametrize(
    ("varbinds", "interface"),
    [
        ((("1.3.6.1.2.1.2.2.1.2.5", s("Gi0/5")), ("1.3.6.1.2.1.2.2.1.1.5", i(5))), "Gi0/5"),
        ((("1.3.6.1.2.1.2.2.1.1.7", i(7)),), "ifIndex 7"),
    ],
)
def test_link_up_falls_back_to_ifdescr_then_ifindex(
    catalog: Catalog, varbinds: tuple[tuple[str, Var], ...], interface: str
) -> None:
    got = effects(catalog, "1.3.6.1.6.3.1.1.5.4", *varbinds)
    assert got.states == [Sample(name="trap_link_up", labels={"interface": interface}, value=1)]


def test_an_admin_down_link_is_labelled_so(catalog: Catalog) -> None:
    got = effects(
        catalog, LINK_DOWN, ("1.3.6.1.2.1.2.2.1.1.9", i(9)), ("1.3.6.1.2.1.2.2.1.7.9", i(2))
    )
    assert got.states[0].labels == {"interface": "ifIndex 9", "admin": "down"}


@pytest.mark.parametrize("oid", ["1.3.6.1.6.3.1.1.5.1", "1.3.6.1.6.3.1.1.5.2"])
def test_cold_and_warm_start_carry_the_uptime_for_the_reboot_rule(
    catalog: Catalog, oid: str
) -> None:
    got = map_trap(trap(oid, ticks=1234), catalog)
    assert got.samples == [Sample(name="uptime_seconds", value=12.34)]


def test_authentication_failure_is_an_event(catalog: Catalog) -> None:
    got = effects(catalog, "1.3.6.1.6.3.1.1.5.5")
    assert got.events == [Sample(name="trap_auth_failures", value=1)]


def test_ups_on_battery_gives_the_vocabulary_samples(catalog: Catalog) -> None:
    got = effects(catalog, "1.3.6.1.2.1.33.2.1", ("1.3.6.1.2.1.33.1.2.3.0", i(17)))
    assert got.samples == [
        Sample(name="ups_on_battery", value=1),
        Sample(name="ups_battery_minutes_remaining", value=17),
    ]


def test_ups_alarm_on_battery_is_a_measurement_not_a_trap_alarm(catalog: Catalog) -> None:
    added = effects(catalog, "1.3.6.1.2.1.33.2.3", (ALARM_DESCR, o(ON_BATTERY)))
    removed = effects(catalog, "1.3.6.1.2.1.33.2.4", (ALARM_DESCR, o(ON_BATTERY)))
    assert (added.samples, added.states) == ([Sample(name="ups_on_battery", value=1)], [])
    assert (removed.samples, removed.states) == ([Sample(name="ups_on_battery", value=0)], [])


def test_other_ups_alarms_are_raised_and_cleared_with_their_severity(catalog: Catalog) -> None:
    overload = ("1.3.6.1.2.1.33.1.6.3.8", "ups_output_overload", "major")
    imminent = ("1.3.6.1.2.1.33.1.6.3.23", "ups_shutdown_imminent", "critical")
    vendor = ("1.3.6.1.4.1.534.1.7.99", "ups alarm 1.3.6.1.4.1.534.1.7.99", "major")
    for descr, alarm, severity in (overload, imminent, vendor):
        labels = {"alarm": alarm, "object": "UPS", "severity": severity}
        added = effects(catalog, "1.3.6.1.2.1.33.2.3", (ALARM_DESCR, o(descr)))
        removed = effects(catalog, "1.3.6.1.2.1.33.2.4", (ALARM_DESCR, o(descr)))
        assert added.states == [Sample(name="trap_alarm", labels=labels, value=1)]
        assert removed.states == [Sample(name="trap_alarm", labels=labels, value=0)]


def test_a_v1_huawei_trap_finds_its_smiv2_entry(catalog: Catalog) -> None:
    # A v1 trap with enterprise ...219.2.2 and specific 3 arrives as ...219.2.2.0.3.
    got = effects(
        catalog, "1.3.6.1.4.1.2011.5.25.219.2.2.0.3", ("1.3.6.1.2.1.47.1.1.1.1.7.16", s("LPU 3"))
    )
    assert got.name == "hwBoardFail"
    labels = {"alarm": "board_failed", "object": "LPU 3", "severity": "major"}
    assert got.states == [Sample(name="trap_alarm", labels=labels, value=1)]


def test_huawei_power_failure_meets_the_polled_power_supply_series(catalog: Catalog) -> None:
    name = ("1.3.6.1.2.1.47.1.1.1.1.7.67", s("POWER Card 1"))
    fail = effects(catalog, "1.3.6.1.4.1.2011.5.25.219.2.5.3", name)
    resume = effects(catalog, "1.3.6.1.4.1.2011.5.25.219.2.5.4", name)
    psu = {"psu": "POWER Card 1"}
    assert fail.samples == [Sample(name="power_supply_ok", labels=psu, value=0)]
    assert resume.samples == [Sample(name="power_supply_ok", labels=psu, value=1)]


@pytest.mark.parametrize(("state", "value"), [(1, 1.0), (3, 0.0), (6, 0.0), (5, None)])
def test_cisco_fan_states_map_like_the_poll_and_not_present_says_nothing(
    catalog: Catalog, state: int, value: float | None
) -> None:
    got = effects(
        catalog,
        "1.3.6.1.4.1.9.9.13.3.0.8",
        ("1.3.6.1.4.1.9.9.13.1.4.1.2.1", s("Switch 1 - FAN 1")),
        ("1.3.6.1.4.1.9.9.13.1.4.1.3.1", i(state)),
    )
    expected = (
        []
        if value is None
        else [Sample(name="fan_ok", labels={"fan": "Switch 1 - FAN 1"}, value=value)]
    )
    assert got.samples == expected


def test_an_unknown_trap_is_kept_with_its_varbinds(catalog: Catalog) -> None:
    unknown = trap("1.3.6.1.4.1.99999.0.7", ("1.3.6.1.4.1.99999.1.1.0", s("door open")))
    got = map_trap(unknown, catalog)
    assert got == Effects()
    meta = trap_meta(unknown, got)
    assert meta["trap_oid"] == "1.3.6.1.4.1.99999.0.7" and "trap" not in meta
    assert json.loads(meta["varbinds"])[-1] == ["1.3.6.1.4.1.99999.1.1.0", "octets", "door open"]


def test_the_community_a_v1_conversion_adds_never_reaches_meta(catalog: Catalog) -> None:
    converted = trap("1.3.6.1.6.3.1.1.5.5", ("1.3.6.1.6.3.18.1.4.0", s("s3cret-c0mm")))
    assert all(oid != COMMUNITY for oid, _ in converted.varbinds)
    meta = trap_meta(converted, map_trap(converted, catalog))
    assert "s3cret-c0mm" not in json.dumps(meta)


def test_without_snmp_trap_oid_it_is_not_a_notification() -> None:
    assert read_trap([(UPTIME, Var(Kind.ticks, 1))], "2c", "192.0.2.1") is None


def test_long_varbind_lists_are_cut_in_meta(catalog: Catalog) -> None:
    many = [(f"1.3.6.1.4.1.99999.2.{n}", s("x" * 200)) for n in range(100)]
    meta = trap_meta(trap("1.3.6.1.4.1.99999.0.1", *many), Effects())
    rows = json.loads(meta["varbinds"])
    assert len(meta["varbinds"]) <= 8000
    assert rows[-1][1] == "truncated" and 10 < len(rows) < 100
