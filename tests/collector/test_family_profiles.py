"""Family profiles on recordings we made from the vendors' MIBs (tests/collector/fixtures/mib).

We hold no recording of a real device of these families; each fixture was written by
hand from the MIB its header names (Apache-2.0, ours). Each test checks the identity
(profile, vendor, model, kind) and the values the profile reads, value by value, and
one fault each fixture carries on purpose.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from collector.snmp.profile_files import check_profiles
from collector.snmp.snapshot import Kind, Snapshot, Var
from collector.snmp.snmprec import load_snmprec
from tests.collector.fakes import SnapshotPool
from weibao.inventory.model import SnmpInspection
from weibao.observation import Observation
from weibao.vocabulary import BY_NAME

FIXTURES = Path(__file__).parent / "fixtures" / "mib"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
SNMP = SnmpInspection(version="2c", community="env:WEIBAO_TEST_COMMUNITY")


def made(name: str) -> Snapshot:
    return load_snmprec(FIXTURES / f"{name}.snmprec")


def inspect(name: str, kind: str | None = None, snapshot: Snapshot | None = None) -> Observation:
    driver = SnmpDriver(
        pool=SnapshotPool({name: snapshot or made(name)}),
        environ={"WEIBAO_TEST_COMMUNITY": "public"},
    )
    result = asyncio.run(driver.inspect_target(name, name, SNMP, kind, Depth.full, NOW, 10.0))
    assert not result.failed, result.observation.error
    return result.observation


def identity(o: Observation) -> tuple[str, ...]:
    return tuple(o.meta.get(k, "") for k in ("profile", "vendor", "model", "kind"))


IDENTITIES = {
    "huawei-ce6850": ("huawei-entity", "Huawei", "CE6850-48S6Q-HI", "switch"),
    "huawei-ne40e": ("huawei-entity", "Huawei", "NE40E-X8A", "router"),
    "huawei-s6730-vrp8": ("huawei-vrp8", "Huawei", "S6730-H24X6C", "switch"),
    "huawei-usg6650": ("huawei-usg", "Huawei", "USG6650", "firewall"),
    "huawei-ups2000": ("huawei-ups", "Huawei", "UPS2000-G-3KRTS", "ups"),
    "kehua-ups": ("kehua-ups", "Kehua", "FR-UK3110", "ups"),
    "apc-smart-ups": ("apc-ups", "APC", "Smart-UPS 3000 RM", "ups"),
    "hpe-ilo5": ("hpe-ilo", "HPE", "ProLiant DL380 Gen10", "bmc"),
    "lenovo-xcc": ("lenovo-xcc", "Lenovo", "", "bmc"),
    "inspur-bmc": ("inspur-bmc", "Inspur", "NF5280M5", "bmc"),
    "sugon-bmc": ("sugon-bmc", "Sugon", "", "bmc"),
    "hillstone-sg6000": ("hillstone", "Hillstone", "SG-6000-E3960", "firewall"),
    "sangfor-af": ("sangfor", "Sangfor", "", "firewall"),
    "cisco-asa5516": ("cisco-asa", "Cisco", "ASA5516", "firewall"),
    "zte-zxr10": ("zte", "ZTE", "5960-52TM-H", "switch"),
    "h3c-secpath-f1000": ("h3c-secpath", "H3C", "SecPath F1000-AK1110", "firewall"),
    "netapp-fas": ("netapp", "NetApp", "FAS8200", "storage"),
    "generic-standard": ("generic", "", "NetBox-3000", "switch"),
}


def test_every_fixture_is_tested_and_marked_as_ours() -> None:
    assert {p.stem for p in FIXTURES.glob("*.snmprec")} == set(IDENTITIES)
    for path in FIXTURES.glob("*.snmprec"):
        head = " ".join(path.read_text(encoding="utf-8").splitlines()[:2])
        assert head.startswith("# Made by weibao from") and "not a device recording" in head


@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_identity(name: str) -> None:
    o = inspect(name)
    assert identity(o) == IDENTITIES[name]
    assert o.meta["kind_evidence"]
    assert "kind_unsure" not in o.meta, o.meta["kind_unsure"]
    for sample in o.samples:
        spec = BY_NAME.get(sample.name)
        assert spec is not None, sample
        assert set(spec.labels) <= set(sample.labels), sample
        if sample.name.endswith("_ratio"):
            assert 0 <= sample.value <= 1, sample


def test_the_inventory_kind_does_not_decide_when_the_device_says_otherwise() -> None:
    o = inspect("huawei-ne40e", kind="switch")
    assert o.meta["kind"] == "router"
    assert o.meta["kind_mismatch"] == "the inventory says switch, the device's answers router"


def test_huawei_cloudengine_family_reads_the_entity_tables() -> None:
    o = inspect("huawei-ce6850")
    assert o.meta["version"] == "8.180 (CE6850 V200R005C10SPC800)"
    assert o.meta["serial"] == "2102350DLK10G4000123"
    assert o.value("cpu_usage_ratio") == 0.23
    assert o.value("memory_usage_ratio") == 0.61
    assert o.value("temperature_celsius", sensor="1") == 41
    assert o.value("fan_ok", fan="1/1") == 1
    assert o.value("fan_ok", fan="1/2") == 0  # hwEntityFanState abnormal(2)
    assert o.value("power_supply_ok", psu="PWR1 Power") == 1


def test_huawei_usg_is_a_firewall_with_board_health() -> None:
    o = inspect("huawei-usg6650")
    assert o.meta["version"] == "V500R005C00SPC100"
    assert o.value("cpu_usage_ratio") == 0.12
    assert o.value("temperature_celsius", sensor="MPU Board 0") == 52


@pytest.mark.parametrize(
    ("name", "on_battery", "charge", "minutes", "load"),
    [("huawei-ups2000", 0, 1.0, 35, 0.41), ("kehua-ups", 1, 0.87, 18, 0.52)],
)
def test_rfc1628_ups_families(
    name: str, on_battery: int, charge: float, minutes: int, load: float
) -> None:
    o = inspect(name)
    assert o.value("ups_on_battery") == on_battery
    assert o.value("ups_battery_charge_ratio") == charge
    assert o.value("ups_battery_minutes_remaining") == minutes
    assert o.value("ups_load_ratio", line="1") == load


def test_any_agent_answering_the_ups_mib_is_a_ups() -> None:
    """A card with net-snmp's sysObjectID and a sysDescr naming nobody: the UPS-MIB decides."""
    snap = made("kehua-ups")
    snap.update([((1, 3, 6, 1, 2, 1, 1, 1, 0), Var(Kind.octets, b"SNMP card"))])
    o = inspect("kehua-ups", snapshot=snap)
    assert identity(o) == ("ups-mib", "KEHUA", "FR-UK3110", "ups")
    assert o.meta["profile_reason"] == "answers 1.3.6.1.2.1.33.1.1"
    assert o.value("ups_on_battery") == 1


def test_apc_powernet_on_battery_with_a_battery_to_replace() -> None:
    o = inspect("apc-smart-ups")
    assert o.meta["serial"] == "AS1234567890"
    assert o.value("ups_on_battery") == 1  # upsBasicOutputStatus onBattery(3)
    assert o.value("ups_on_bypass") == 0
    assert o.value("ups_battery_low") == 0
    assert o.value("ups_battery_replace") == 1  # upsAdvBatteryReplaceIndicator(2)
    assert o.value("ups_battery_charge_ratio") == 0.96
    assert o.value("ups_battery_minutes_remaining") == pytest.approx(43.0)  # 258000 ticks
    assert o.value("temperature_celsius", sensor="battery") == 29
    assert o.value("ups_load_ratio", line="1") == 0.34


def test_hpe_ilo_server_health() -> None:
    o = inspect("hpe-ilo5")
    assert (o.meta["serial"], o.meta["version"]) == ("CZ2D1234AB", "2.78")
    assert o.value("system_health_ok") == 0  # cpqHeMibCondition degraded(3)
    assert o.value("power_supply_ok", psu="PS 1") == 1
    assert o.value("power_supply_ok", psu="PS 2") == 0  # failed(4)
    assert o.value("fan_ok", fan="Fan 2") == 1
    assert o.value("temperature_celsius", sensor="sensor 2") == 40
    assert o.value("temperature_celsius", sensor="sensor 3") is None  # -1: not readable
    assert o.value("temperature_over_threshold", sensor="sensor 1") == 0
    assert o.value("temperature_over_threshold", sensor="sensor 3") is None  # other(1)
    assert o.value("cpu_ok", cpu="CPU 1") == 1
    assert o.value("memory_module_ok", module="DIMM 0") == 1
    assert o.value("disk_ok", disk="0/1") == 1
    assert o.value("disk_ok", disk="0/3") == 0  # predictiveFailure(4)
    assert o.value("raid_degraded", array="logical drive 0/2") == 1  # rebuilding(7)
    assert o.value("raid_state", array="logical drive 0/2", state="rebuilding") == 1
    assert o.value("raid_degraded", array="logical drive 0/1") == 0


def test_lenovo_xcc_health_and_temperatures() -> None:
    o = inspect("lenovo-xcc")
    assert o.value("system_health_ok") == 0  # systemHealthStat critical(2)
    assert o.value("temperature_celsius", sensor="Ambient Temp") == 22
    assert o.value("temperature_celsius", sensor="CPU 1 Temp") == 47


def test_inspur_bmc_reads_the_standard_sensor_and_state_tables() -> None:
    o = inspect("inspur-bmc")
    assert o.value("temperature_celsius", sensor="Inlet_Temp") == 24
    assert o.value("fan_speed_rpm", fan="FAN_1") == 6800
    assert o.value("fan_ok", fan="FAN_1") == 1
    assert o.value("fan_ok", fan="FAN_2") == 0  # nonoperational(3)
    assert o.value("fan_speed_rpm", fan="FAN_2") is None  # its reading means nothing
    assert o.value("voltage_volts", sensor="P12V") == pytest.approx(12.096)  # milli, 12096
    assert o.value("power_watts", sensor="Total_Power") == 412
    assert o.value("sensor_ok", sensor="P12V") == 1
    assert o.value("power_supply_ok", psu="PSU1") == 0  # entStateOper disabled(2)
    assert o.value("component_ok", component="Chassis") == 1


def test_hillstone_and_sangfor_read_the_standard_host_tables() -> None:
    hs = inspect("hillstone-sg6000")
    assert hs.meta["version"] == "5.5R8P4"
    assert hs.value("cpu_usage_ratio") == 0.27  # sysCPU, before hrProcessorLoad (20)
    assert hs.value("memory_usage_ratio") == 0.5  # sysMemoryUsed / sysMemory
    # without the vendor scalars, HOST-RESOURCES gives the figures
    plain = Snapshot(
        (oid, var) for oid, var in made("hillstone-sg6000").subtree(()) if oid[6] != 28557
    )
    hr = inspect("hillstone-sg6000", snapshot=plain)
    assert hr.value("cpu_usage_ratio") == 0.2  # mean of hrProcessorLoad 18 and 22
    assert hr.value("memory_usage_ratio") == pytest.approx(1677722 / 4194304)
    sf = inspect("sangfor-af")
    assert sf.value("cpu_usage_ratio") == 0.3
    # UCD: (total - avail - buffers - cached) / total
    assert sf.value("memory_usage_ratio") == pytest.approx((8e6 - 2e6 - 5e5 - 1.5e6) / 8e6)


def test_cisco_asa_firewall() -> None:
    o = inspect("cisco-asa5516")
    assert (o.meta["version"], o.meta["serial"]) == ("9.12(4)", "JAD21230ABC")
    assert o.value("cpu_usage_ratio") == 0.14
    # the "System memory" pool is not named "Processor": the ASA profile inherits the
    # IOS pool filter, so memory comes from no pool here
    assert o.value("memory_usage_ratio") is None


def test_zte_and_h3c_secpath() -> None:
    zte = inspect("zte-zxr10")
    assert zte.meta["version"] == "V3.02.01.B32P01"
    assert zte.value("temperature_celsius", sensor="board temperature") == 39
    secpath = inspect("h3c-secpath-f1000")
    assert secpath.value("cpu_usage_ratio") == 0.09
    assert secpath.value("memory_usage_ratio") == 0.52
    assert secpath.value("temperature_celsius", sensor="Board") == 45


def test_netapp_global_status_and_failure_counts() -> None:
    o = inspect("netapp-fas")
    assert (o.meta["version"], o.meta["serial"]) == ("9.8P5", "721834000123")
    assert o.value("system_health_ok") == 0  # miscGlobalStatus critical(5)
    assert o.value("cpu_usage_ratio") == 0.27
    assert o.value("fan_ok", fan="fans") == 1
    assert o.value("power_supply_ok", psu="power supplies") == 0  # one failed
    assert o.value("disk_ok", disk="all disks") == 0
    assert o.value("temperature_over_threshold", sensor="chassis") == 0


def test_an_unknown_box_still_gets_health_from_the_standard_mibs() -> None:
    o = inspect("generic-standard")
    assert o.meta["serial"] == "ACME1234"
    assert o.meta["vendor_evidence"] == "enterprise 99999 is not in our table"
    # ENTITY-SENSOR-MIB: celsius with precision 1, rpm, a voltage in milli, amperes
    assert o.value("temperature_celsius", sensor="CPU temp") == 71.5
    assert o.value("fan_speed_rpm", fan="Fan 1") == 5400
    assert o.value("fan_ok", fan="Fan 1") == 1
    assert o.value("voltage_volts", sensor="3.3V rail") == pytest.approx(3.31)
    assert o.value("current_amperes", sensor="PSU 2 current") is None  # unavailable(2)
    assert o.value("sensor_ok", sensor="PSU 2 current") is None
    # a major threshold (CISCO-ENTITY-SENSOR-MIB layout) evaluated true: out of range
    assert o.value("sensor_ok", sensor="Inlet temp") == 0
    assert o.value("sensor_ok", sensor="3.3V rail") == 1
    # ENTITY-STATE-MIB: a module in major alarm; an enabled PSU; a locked fan tray skipped
    assert o.value("component_ok", component="Linecard 1") == 0
    assert o.value("power_supply_ok", psu="PSU 2") == 1
    assert o.value("fan_ok", fan="Fan tray") is None
    # HOST-RESOURCES: processor load, a disk down; the network device is not judged here
    assert o.value("cpu_usage_ratio") == 0.35
    assert o.value("component_ok", component="ARM Cortex-A53") == 1
    assert o.value("component_ok", component="eMMC flash") == 0
    assert o.value("component_ok", component="network interface eth1") is None
    # CISCO-ENHANCED-MEMPOOL-MIB, 64-bit columns of the Processor pool
    assert o.value("memory_usage_ratio") == 0.75


def test_tables_the_device_does_not_answer_are_not_asked_for() -> None:
    """The probe found no HOST-RESOURCES, UCD, UPS-MIB or LLDP: no request goes there."""
    pool = SnapshotPool({"x": made("huawei-ups2000")})
    driver = SnmpDriver(pool=pool, environ={"WEIBAO_TEST_COMMUNITY": "public"})
    result = asyncio.run(driver.inspect_target("x", "x", SNMP, None, Depth.full, NOW, 10.0))
    detection = driver._states["x"].detection
    assert detection is not None
    absent = {".".join(map(str, oid)) for oid in detection.absent}
    assert "1.3.6.1.2.1.25.2.3.1" in absent and "1.3.6.1.4.1.2021" in absent
    assert "1.3.6.1.2.1.33.1.1" not in absent
    assert int(result.observation.meta["requests"]) <= 4


def test_family_conditions_are_checked_when_profiles_load(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nmatch: {answers: [1.3.6.1.2.1.33.1.1]}\n")
    _, problems = check_profiles([tmp_path])
    messages = [p.format() for p in problems]
    assert any("match.answers: profile 'a' matches the same tables" in m for m in messages)
