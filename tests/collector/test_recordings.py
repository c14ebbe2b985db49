"""Every reader and profile against real device recordings, through the driver, no network.

The expected values are read off the recordings by hand (see the comments); the
integration test serves the same files over UDP with snmpsim.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from tests.collector.fakes import SnapshotPool
from tests.collector.recordings import RECORDINGS, recording, recordings_dir
from weibao.inventory.model import SnmpInspection
from weibao.observation import Observation

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
SNMP = SnmpInspection(version="2c", community="env:WEIBAO_TEST_COMMUNITY")


def inspect(name: str, kind: str | None = None) -> Observation:
    driver = SnmpDriver(
        pool=SnapshotPool({name: recording(name)}),
        environ={"WEIBAO_TEST_COMMUNITY": "public"},
    )
    result = asyncio.run(driver.inspect_target(name, name, SNMP, kind, Depth.full, NOW, 10.0))
    assert not result.failed, result.observation.error
    return result.observation


def identity(o: Observation) -> tuple[str, ...]:
    return tuple(o.meta.get(k, "") for k in ("profile", "vendor", "model", "kind"))


def test_huawei_vrp_switch() -> None:
    o = inspect("vrp-vrp_s5328c-ei")
    assert identity(o) == ("huawei-vrp", "Huawei", "S5328C-EI", "switch")
    assert o.meta["version"] == "5.110 (S5300 V200R001C00SPC300)"
    assert o.value("uptime_seconds") == 31683835.83
    assert o.value("cpu_usage_ratio") == 0.19  # hwEntityCpuUsage.67108873 = 19
    assert o.value("memory_usage_ratio") == 0.54
    assert o.value("temperature_celsius", sensor="MPU Board 0") == 38
    assert o.value("fan_ok", fan="0/3") == 1
    assert o.values("power_supply_ok") and all(s.value == 1 for s in o.values("power_supply_ok"))
    assert o.value("interface_up", interface="GigabitEthernet0/0/1") == 1
    assert o.value("interface_up", interface="GigabitEthernet0/0/19") == 0  # admin up, link down
    assert o.value("interface_admin_up", interface="GigabitEthernet0/0/19") == 1
    assert o.value("interface_admin_up", interface="GigabitEthernet0/0/18") == 0  # shut down


def test_comware_switch() -> None:
    o = inspect("comware-comware_a5500")
    assert identity(o) == ("h3c-comware", "HP", "A5500-24G EI", "switch")
    assert o.value("cpu_usage_ratio") == 0.08
    assert o.value("memory_usage_ratio") == 0.47
    assert o.value("temperature_celsius", sensor="Board") == 38
    assert o.value("fan_ok", fan="fan 1") == 1
    assert o.value("power_supply_ok", psu="psu 1") == 1
    assert o.value("power_supply_ok", psu="psu 2") is None  # not installed: not "failed"
    assert o.value("interface_speed_bits", interface="GigabitEthernet1/0/1") == 1e9


def test_cisco_catalyst_without_sysuptime() -> None:
    o = inspect("cisco-ios_c3560")
    assert identity(o) == ("cisco-catalyst", "Cisco", "WS-C3560-48TS-S", "switch")
    assert o.meta["serial"] == "CAT0912N0CU"
    assert o.value("uptime_seconds") is None  # the recording has no sysUpTime
    assert o.value("cpu_usage_ratio") == 0.10  # cpmCPUTotal1minRev = 10
    assert o.value("memory_usage_ratio") == pytest.approx(20103300 / (20103300 + 55248600))
    assert o.value("fan_ok", fan="Switch#1, Fan#1") == 1
    assert o.value("power_supply_ok", psu="Sw1, PS1 Normal, RPS NotExist") == 1


def test_cisco_iosxe_sensors_absent_supply_and_lldp_neighbours() -> None:
    o = inspect("cisco-iosxe_ie32008t2s-ios17-12")
    assert identity(o)[:2] == ("cisco-catalyst", "Cisco")
    neighbours = json.loads(o.meta["neighbors"])
    assert neighbours[0] == {
        "protocol": "lldp",
        "local_port": "port-001",
        "remote_name": "DE-XXX-XXX-FAC-MP-SW110",
        "remote_port": "Gi1/25",
        "remote_chassis": "78:85:17:84:0b:80",  # a MAC chassis ID, formatted
        "remote_address": "10.46.101.110",  # from lldpRemManAddrTable's index
    }
    assert o.value("temperature_celsius", sensor="SW#1, Sensor#1 GREEN") == 48
    assert [s.labels["psu"] for s in o.values("power_supply_ok")] == ["Sw1, PSA Normal"]


def test_generex_ups_speaks_plain_rfc1628() -> None:
    o = inspect("ups-generex-ups_cs141")
    assert identity(o) == ("ups-rfc1628", "Multimatic", "Upscale", "ups")
    assert o.value("ups_battery_charge_ratio") == 1.0
    assert o.value("ups_battery_minutes_remaining") == 544
    assert o.value("ups_on_battery") == 0
    assert o.value("ups_on_bypass") == 1  # upsOutputSource = bypass(4)
    assert o.value("ups_battery_low") == 0
    assert o.value("ups_load_ratio", line="2") == 0.14
    assert o.value("temperature_celsius", sensor="battery") == 25


def test_eaton_ups_adds_xups() -> None:
    o = inspect("ups-eatonupsm2_9px+empg2", "ups")
    assert identity(o) == ("eaton-ups", "Eaton", "Eaton 9PX 1000i RT 2U", "ups")
    assert o.value("ups_battery_minutes_remaining") == 438
    assert o.value("ups_battery_replace") == 0  # xupsBatteryFailure = no(2)
    assert o.value("temperature_celsius", sensor="probe") == 27
    assert o.value("ups_alarms") == 0


def test_linux_net_snmp() -> None:
    o = inspect("linux-linux_opensips", "server")
    assert identity(o) == ("net-snmp", "Linux", "", "server")
    assert o.value("filesystem_usage_ratio", mountpoint="/") == pytest.approx(4358556 / 26211579)
    assert o.value("filesystem_usage_ratio", mountpoint="/run") is None  # tmpfs skipped
    # UCD: (total - avail - buffers - cached) / total, not hrStorage's cache-inclusive figure
    assert o.value("memory_usage_ratio") == pytest.approx((1880360 - 379892 - 791360) / 1880360)
    assert o.value("load1") == 0.23
    assert o.value("interface_up", interface="eth0") == 1
    assert o.value("interface_up", interface="lo") is None  # loopback skipped


def test_cisco_iosxe_entity_sensor_table_slot_and_sfp() -> None:
    """CISCO-ENTITY-SENSOR-MIB is read at its entry (…9.9.91.1.1.1.1), not one level up."""
    o = inspect("cisco-iosxe_ie32008t2s-ios17-12")
    # entSensorValue 48 (units, precision 0); 46925 (units, precision 3)
    assert o.value("temperature_celsius", sensor="Slot 1 - Temp: LM75BXXX") == 48
    sfp = "FS              Temperature Sensor 1/1"
    assert o.value("temperature_celsius", sensor=sfp) == pytest.approx(46.925)
    assert o.value("optic_rx_power_dbm", interface="Gi1/1") == pytest.approx(-6.2)  # -62, prec 1


# Every other recording: its profile and one value read off the recording by hand.
OTHERS = [
    # hwEntityOpticalRxPower.270 = -849 (0.01 dBm), the SFP in GigabitEthernet0/0/4
    (
        "vrp-vrp_ar169sfp",
        "huawei-vrp-router",
        "optic_rx_power_dbm",
        {"interface": "GigabitEthernet0/0/4"},
        -8.49,
    ),
    # hh3cEntityExtTemperature.204 = 35, entity "SENSOR 3" (class sensor)
    ("comware-comware_hpe5900", "h3c-comware", "temperature_celsius", {"sensor": "SENSOR 3"}, 35),
    # ifHighSpeed.1 = 10000 (Mbit/s), ifName.1 = "Te0/1"
    ("ruijie-ruijie", "ruijie", "interface_speed_bits", {"interface": "Te0/1"}, 1e10),
    # ruijieSystemMultipleTemperatureCurrent.1.0.3 = 57 ("switch")
    ("ruijie-ruijie_s6150", "ruijie", "temperature_celsius", {"sensor": "switch"}, 57),
    # temperatureReading "Inlet" = 190 (1/10 °C)
    ("bmc-ibmc", "huawei-ibmc", "temperature_celsius", {"sensor": "Inlet"}, 19.0),
    # temperatureProbeReading "System Board Inlet Temp" = 250 (1/10 °C)
    (
        "bmc-drac_r640",
        "dell-idrac",
        "temperature_celsius",
        {"sensor": "System Board Inlet Temp"},
        25.0,
    ),
    # hwInfoDiskTemperature of CTE0.1 = 47
    (
        "storage-oceanstor_dorado3k",
        "huawei-oceanstor",
        "temperature_celsius",
        {"sensor": "disk CTE0.1"},
        47,
    ),
    # diskBadSector.1 = 511 ("Disk 2")
    ("storage-dsm_ds214se-dsm7", "synology", "disk_bad_sectors", {"disk": "Disk 2"}, 511),
    # fgSysSesCount = 174
    ("firewall-fortigate_60f", "fortigate", "firewall_sessions", {}, 174),
    # fgSysSesCount = 1380
    ("firewall-fortigate_100e", "fortigate", "firewall_sessions", {}, 1380),
]


@pytest.mark.parametrize(("name", "profile", "sample", "labels", "expected"), OTHERS)
def test_every_other_recording_reads_its_values(
    name: str, profile: str, sample: str, labels: dict[str, str], expected: float
) -> None:
    o = inspect(name)
    assert o.value("up") == 1
    assert o.meta["profile"] == profile
    assert o.value(sample, **labels) == pytest.approx(expected)
    for s in o.samples:
        if s.name.endswith("_ratio"):
            assert 0 <= s.value <= 1, s


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_sample_speaks_the_shared_vocabulary(name: str) -> None:
    """Rules are written against weibao/vocabulary.py: a name outside it would never alarm."""
    from weibao.vocabulary import BY_NAME

    o = inspect(name)
    assert o.samples
    for sample in o.samples:
        spec = BY_NAME.get(sample.name)
        assert spec is not None, f"{name}: {sample.name} is not in weibao/vocabulary.py"
        assert set(spec.labels) <= set(sample.labels), (name, sample)


def test_the_list_of_recordings_is_every_recording() -> None:
    found = sorted(p.name.removesuffix(".snmprec") for p in recordings_dir().glob("*.snmprec"))
    assert found == sorted(RECORDINGS)
