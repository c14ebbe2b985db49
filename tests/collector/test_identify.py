"""Recognising devices no profile names: vendor from the enterprise number, kind from what
the device answers, the model from newer sysDescr styles, and the identity of every
shared recording (issue #14, items 10, 11, 14)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from collector.snmp.identify import (
    BRIDGE_PORTS,
    SYS_SERVICES,
    UPS_IDENT,
    identify,
)
from collector.snmp.oid import Oid, parse_oid
from collector.snmp.profile_files import load_profiles
from collector.snmp.profiles import BUILTIN_DIR, ProfileSet
from collector.snmp.readers.system import SYS_DESCR, SYS_OBJECT_ID
from collector.snmp.snapshot import Kind, Snapshot, Var
from collector.snmp.vendors import BY_NUMBER, TEXT_VENDORS, enterprise_of, vendor_in_text
from collector.snmp.walker import RequestSize, Walker
from tests.collector.fakes import Behaviour, SnapshotPool, SnapshotSession
from tests.collector.recordings import recording
from weibao.inventory.model import SnmpInspection
from weibao.observation import Observation

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
SNMP = SnmpInspection(version="2c", community="env:WEIBAO_TEST_COMMUNITY")

# -- the enterprise table -----------------------------------------------------------------

REQUIRED_VENDORS = {
    "Huawei", "H3C", "ZTE", "Ruijie", "Hillstone", "Sangfor", "Qi An Xin", "Topsec",
    "Venustech", "DPtech", "Maipu", "FiberHome", "Inspur", "Sugon", "Lenovo", "Dell", "HPE",
    "IBM", "Cisco", "Juniper", "Fortinet", "Palo Alto", "Check Point", "F5", "APC", "Eaton",
    "Santak", "Vertiv", "Kehua", "Delta", "NetApp", "Synology", "QNAP", "VMware",
}  # fmt: skip


def test_the_table_covers_the_vendors_met_in_chinese_contracts() -> None:
    by_number = {e.vendor for e in BY_NUMBER.values()}
    by_text = {vendor for _, vendor in TEXT_VENDORS}
    assert REQUIRED_VENDORS - by_number - by_text == set()
    # where the number is not confirmed, the table says so
    for number in (14331, 15227, 31648, 37945):
        assert "unsure" in BY_NUMBER[number].note


@pytest.mark.parametrize(
    ("oid", "vendor"),
    [
        ("1.3.6.1.4.1.2011.2.239.12", "Huawei"),
        ("1.3.6.1.4.1.25506.11.1.24", "H3C"),
        ("1.3.6.1.4.1.3902.3.100.47", "ZTE"),
        ("1.3.6.1.4.1.4881.1.1.10.1.150", "Ruijie"),
        ("1.3.6.1.4.1.232.9.4.11", "HPE"),
        ("1.3.6.1.4.1.19046.11.1", "Lenovo"),
        ("1.3.6.1.4.1.534.1", "Eaton"),
        ("1.3.6.1.4.1.5651.1.102", "Maipu"),
    ],
)
def test_vendor_from_the_enterprise_number(oid: str, vendor: str) -> None:
    found = enterprise_of(parse_oid(oid))
    assert found is not None and found.vendor == vendor


def test_no_vendor_outside_the_enterprises_arc_or_for_unknown_numbers() -> None:
    assert enterprise_of(parse_oid("1.3.6.1.2.1.33")) is None
    assert enterprise_of(parse_oid("1.3.6.1.4.1.99999.1")) is None
    assert enterprise_of(None) is None
    assert vendor_in_text("KEHUA UPS SNMP Agent") == "Kehua"
    assert vendor_in_text("曙光服务器管理") == "Sugon"
    assert vendor_in_text("Linux nas 5.10") is None


# -- kind from the answers ----------------------------------------------------------------


def answered(*roots: Oid, services: int | None = None) -> dict[Oid, tuple[Oid, Var]]:
    out = {root: ((*root, 1), Var(Kind.integer, 1)) for root in roots}
    if services is not None:
        out[SYS_SERVICES] = ((*SYS_SERVICES, 0), Var(Kind.integer, services))
    return out


def test_kind_from_sysdescr_and_standard_mibs_with_the_evidence() -> None:
    found = identify(
        parse_oid("1.3.6.1.4.1.99999.1"),
        "Acme L3 Switch",
        answered(BRIDGE_PORTS, services=6),
        None,
        None,
    )
    assert found.kind == "switch"
    assert found.evidence == [
        "sysDescr says 'Switch'",
        "answers BRIDGE-MIB dot1dBasePortTable",
        "sysServices 6 (layers 2, 3)",
    ]
    assert found.unsure == ""


def test_an_inventory_kind_alone_is_a_guess_and_says_so() -> None:
    found = identify(parse_oid("1.3.6.1.4.1.99999.1"), "", {}, None, "firewall")
    assert found.kind == "firewall"
    assert found.unsure == "weak evidence for firewall: the inventory says firewall"


def test_conflicting_evidence_is_reported_as_unsure() -> None:
    found = identify(
        parse_oid("1.3.6.1.4.1.99999.1"),
        "Acme Router 2000",
        answered(BRIDGE_PORTS, services=6),
        None,
        None,
    )
    assert found.kind == "router"  # 4 against 4: a tie, settled by name, and said so
    assert found.unsure == (
        "it could also be switch (answers BRIDGE-MIB dot1dBasePortTable; "
        "sysServices 6 (layers 2, 3))"
    )


def test_a_profile_that_matched_the_device_outweighs_words() -> None:
    profile = ("firewall", "profile fortigate (sysObjectID ...)")
    found = identify(parse_oid("1.3.6.1.4.1.12356.101.1.1"), "Switch", {}, profile, "switch")
    assert found.kind == "firewall" and found.unsure == ""
    assert found.evidence[0] == "profile fortigate (sysObjectID ...)"


def test_nothing_to_go_on_is_no_kind() -> None:
    found = identify(None, "", {}, None, None)
    assert found.kind is None and found.unsure == "nothing it answers points to a kind"
    assert found.meta() == {"kind_unsure": "nothing it answers points to a kind"}


# -- the probe ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2c", "1"])
def test_first_under_finds_which_tables_answer_in_one_request(version: str) -> None:
    snap = Snapshot(
        [
            ((1, 3, 6, 1, 2, 1, 1, 7, 0), Var(Kind.integer, 72)),
            ((1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 1, 1), Var(Kind.integer, 1)),
        ]
    )
    session = SnapshotSession(snap, version, Behaviour())
    roots = [SYS_SERVICES, (1, 3, 6, 1, 2, 1, 25, 2, 3, 1), UPS_IDENT, (1, 3, 6, 1, 4, 1, 2021)]

    async def probe() -> dict[Oid, tuple[Oid, Var]]:
        deadline = asyncio.get_running_loop().time() + 5
        return await Walker(session, RequestSize(10), deadline).first_under(roots)

    found = asyncio.run(probe())
    assert set(found) == {SYS_SERVICES, (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)}
    assert found[SYS_SERVICES] == ((1, 3, 6, 1, 2, 1, 1, 7, 0), Var(Kind.integer, 72))
    assert [op for op, _, _ in session.behaviour.requests] == ["next"]


def test_a_device_silent_to_the_probe_is_still_inspected() -> None:
    """Some agents drop large requests: the profile then comes from the system group."""
    pool = SnapshotPool({"x": recording("vrp-vrp_s5328c-ei")}, Behaviour(silent_above=12))
    driver = SnmpDriver(pool=pool, environ={"WEIBAO_TEST_COMMUNITY": "public"})
    result = asyncio.run(driver.inspect_target("x", "x", SNMP, None, Depth.full, NOW, 10.0))
    assert not result.failed
    assert result.observation.meta["profile"] == "huawei-vrp"
    assert result.observation.value("cpu_usage_ratio") == 0.19


# -- models from newer sysDescr styles (item 14) -------------------------------------------

VRP8 = (
    "Huawei Versatile Routing Platform Software\r\n"
    "VRP (R) software, Version 8.180 ({product} V200R005C10SPC800)\r\n"
    "Copyright (C) 2012-2018 Huawei Technologies Co., Ltd.\r\n"
    "HUAWEI {model}\r\n"
)


def model_of(profiles: ProfileSet, sys_object_id: str, descr: str, tables: list[Oid]) -> str:
    oid = parse_oid(sys_object_id)
    snap = Snapshot(
        [(SYS_DESCR, Var(Kind.octets, descr.encode())), (SYS_OBJECT_ID, Var(Kind.oid, oid))]
    )
    detection = profiles.match(oid, descr, None, set(tables))
    return detection.profile.identify(descr, snap).get("model", "")


HW_ENTITY: Oid = (1, 3, 6, 1, 4, 1, 2011, 5, 25, 31, 1, 1, 1, 1, 5)


@pytest.mark.parametrize(
    ("sys_object_id", "product", "model"),
    [
        ("1.3.6.1.4.1.2011.2.239.12", "CE6850", "CE6850-48S6Q-HI"),
        ("1.3.6.1.4.1.2011.2.239.40", "CE12800", "CE12808"),
        ("1.3.6.1.4.1.2011.2.62.2.26", "NE40E", "NE40E-X8A"),
        ("1.3.6.1.4.1.2011.2.23.619", "S6730", "S6730-H24X6C"),
        ("1.3.6.1.4.1.2011.2.224.300", "AR6300", "AR6300-S"),
    ],
)
def test_vrp8_models_never_read_versatile(sys_object_id: str, product: str, model: str) -> None:
    profiles = load_profiles()
    descr = VRP8.format(product=product, model=model)
    assert model_of(profiles, sys_object_id, descr, [HW_ENTITY]) == model
    # without the model line, the product in the version string
    short = descr.replace(f"HUAWEI {model}\r\n", "")
    assert model_of(profiles, sys_object_id, short, [HW_ENTITY]) == product


@pytest.mark.parametrize(
    ("sys_object_id", "descr", "model"),
    [
        (
            "1.3.6.1.4.1.2011.2.23.95",
            '"S5328C-EI\r\nHuawei Versatile Routing Platform',
            "S5328C-EI",
        ),
        ("1.3.6.1.4.1.2011.2.224.62", "Huawei AR169F Huawei Versatile Routing", "AR169F"),
    ],
)
def test_vrp5_models_are_unchanged(sys_object_id: str, descr: str, model: str) -> None:
    assert model_of(load_profiles(), sys_object_id, descr, [HW_ENTITY]) == model


# -- every shared recording is identified right --------------------------------------------

EXPECTED = {  # profile, vendor, model, kind
    "vrp-vrp_s5328c-ei": ("huawei-vrp", "Huawei", "S5328C-EI", "switch"),
    "vrp-vrp_ar169sfp": ("huawei-vrp-router", "Huawei", "AR169F", "router"),
    "comware-comware_a5500": ("h3c-comware", "HP", "A5500-24G EI", "switch"),
    "comware-comware_hpe5900": ("h3c-comware", "HPE", "5900AF-48G-4XG-2QSFP+", "switch"),
    "cisco-ios_c3560": ("cisco-catalyst", "Cisco", "WS-C3560-48TS-S", "switch"),
    "cisco-iosxe_ie32008t2s-ios17-12": ("cisco-catalyst", "Cisco", "IE-3200-8T2S", "switch"),
    "ruijie-ruijie": ("ruijie", "Ruijie", "S6220-48XS4QXS", "switch"),
    "ruijie-ruijie_s6150": ("ruijie", "Ruijie", "S6150-24VS8CQ-X", "switch"),
    "ups-generex-ups_cs141": ("ups-rfc1628", "Multimatic", "Upscale", "ups"),
    "ups-eatonupsm2_9px+empg2": ("eaton-ups", "Eaton", "Eaton 9PX 1000i RT 2U", "ups"),
    "linux-linux_opensips": ("net-snmp", "Linux", "", "server"),
    "bmc-ibmc": ("huawei-ibmc", "Huawei", "RH2288H V3", "bmc"),
    "bmc-drac_r640": ("dell-idrac", "Dell", "PowerEdge R640", "bmc"),
    "storage-oceanstor_dorado3k": (
        "huawei-oceanstor", "Huawei", "OceanStor Dorado 3000 V6", "storage",
    ),
    "storage-dsm_ds214se-dsm7": ("synology", "Synology", "DS214se", "storage"),
    "firewall-fortigate_60f": ("fortigate", "Fortinet", "FGT_60F", "firewall"),
    "firewall-fortigate_100e": ("fortigate", "Fortinet", "FGT_100E", "firewall"),
}  # fmt: skip

# With no vendor profile at all (generic only): the vendor and kind the answers give,
# and whether the identification calls itself unsure.
GENERIC_ONLY = {  # vendor, kind, unsure
    "vrp-vrp_s5328c-ei": ("Huawei", "switch", False),
    "vrp-vrp_ar169sfp": ("Huawei", "router", False),
    "comware-comware_a5500": ("H3C", "switch", False),
    "comware-comware_hpe5900": ("H3C", "switch", False),
    "cisco-ios_c3560": ("Cisco", "switch", False),
    "cisco-iosxe_ie32008t2s-ios17-12": ("Cisco", "switch", False),
    "ruijie-ruijie": ("Ruijie", "switch", False),
    "ruijie-ruijie_s6150": ("Ruijie", "switch", False),
    "ups-generex-ups_cs141": ("Multimatic", "ups", False),
    "ups-eatonupsm2_9px+empg2": ("Eaton", "ups", False),
    "linux-linux_opensips": ("", "server", False),
    "bmc-ibmc": ("Huawei", "bmc", False),
    "bmc-drac_r640": ("Dell", "bmc", False),
    "storage-oceanstor_dorado3k": ("Huawei", "storage", False),
    "storage-dsm_ds214se-dsm7": ("Synology", "storage", True),  # a Linux host too
    "firewall-fortigate_60f": ("Fortinet", "firewall", False),
    "firewall-fortigate_100e": ("Fortinet", "firewall", False),
}


def inspect(name: str, profiles: ProfileSet | None = None) -> Observation:
    driver = SnmpDriver(
        profiles=profiles,
        pool=SnapshotPool({name: recording(name)}),
        environ={"WEIBAO_TEST_COMMUNITY": "public"},
    )
    result = asyncio.run(driver.inspect_target(name, name, SNMP, None, Depth.full, NOW, 10.0))
    assert not result.failed, result.observation.error
    return result.observation


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_recording_is_identified(name: str) -> None:
    o = inspect(name)
    assert (
        tuple(o.meta.get(k, "") for k in ("profile", "vendor", "model", "kind")) == (EXPECTED[name])
    )
    assert o.meta["kind_evidence"]
    assert "kind_unsure" not in o.meta


@pytest.fixture(scope="module")
def generic_only(tmp_path_factory: pytest.TempPathFactory) -> ProfileSet:
    directory = tmp_path_factory.mktemp("generic")
    shutil.copy(BUILTIN_DIR / "generic.yaml", directory)
    return load_profiles([Path(directory)], builtin=False)


@pytest.mark.parametrize("name", sorted(GENERIC_ONLY))
def test_every_recording_is_recognised_without_its_profile(
    generic_only: ProfileSet, name: str
) -> None:
    o = inspect(name, generic_only)
    vendor, kind, unsure = GENERIC_ONLY[name]
    assert o.meta["profile"] == "generic"
    assert (o.meta.get("vendor", ""), o.meta.get("kind", "")) == (vendor, kind)
    assert ("kind_unsure" in o.meta) == unsure
    assert o.value("up") == 1


def test_the_probe_output_shows_the_evidence() -> None:
    from rich.console import Console

    from weibao.cli.inspect_cmd import render_observation

    console = Console(width=400, record=True)
    render_observation(console, inspect("storage-dsm_ds214se-dsm7"), "snmp")
    text = console.export_text()
    assert "kind_evidence" in text and "vendor_evidence" in text
    assert "profile synology" in text


def test_standard_health_of_a_real_recording_without_its_profile(
    generic_only: ProfileSet,
) -> None:
    """The IE3200's CISCO-ENTITY-SENSOR-MIB read by the generic profile's standard readers."""
    o = inspect("cisco-iosxe_ie32008t2s-ios17-12", generic_only)
    assert o.value("temperature_celsius", sensor="Slot 1 - Temp: LM75BXXX") == 48
    # entSensorValue 32916, scale milli(8), precision 1: 3.2916 V
    sensor = "FS              Supply Voltage Sensor 1/1"
    assert o.value("voltage_volts", sensor=sensor) == pytest.approx(3.2916)
    assert o.value("sensor_ok", sensor=sensor) == 1  # no major threshold crossed
    # 4752, scale micro(7): 4.752 mA of laser bias current
    bias = "FS              Bias Current Sensor 1/1"
    assert o.value("current_amperes", sensor=bias) == pytest.approx(0.004752)
    # the Processor pool of CISCO-MEMORY-POOL-MIB: used / (used + free)
    assert o.value("memory_usage_ratio") == pytest.approx(155265440 / (155265440 + 279062172))
