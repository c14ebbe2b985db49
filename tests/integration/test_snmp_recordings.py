"""The SNMP driver against real device recordings served over UDP by snmpsim.

The recordings are LibreNMS test data (GPL-3.0) read from the shared devices directory,
never copied into the repository: the test serves a sorted copy in tmp (bmc-ibmc has
lines out of OID order, which snmpsim's index does not expect). snmpsim maps the SNMP
community to a file name, so the community here is the recording's name.

snmpsim refuses to run as root unless it drops privileges; here the interpreter may live
where an unprivileged user cannot read it (pyenv under /root), so under root the test
sets snmpsim's own SNMPSIM_ALLOW_ROOT escape instead. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from tests.integration.snmpsim_peer import serve_recordings
from weibao.inventory.model import SnmpInspection
from weibao.observation import Observation

pytestmark = pytest.mark.integration

SERVED = [
    "vrp-vrp_s5328c-ei",
    "comware-comware_a5500",
    "cisco-ios_c3560",
    "ups-generex-ups_cs141",
    "ups-eatonupsm2_9px+empg2",
    "linux-linux_opensips",
    "bmc-ibmc",
    "ruijie-ruijie",
    "ruijie-ruijie_s6150",
    "firewall-fortigate_60f",
    "firewall-fortigate_100e",
    "bmc-drac_r640",
    "storage-oceanstor_dorado3k",
    "storage-dsm_ds214se-dsm7",
    "cisco-iosxe_ie32008t2s-ios17-12",
    "comware-comware_hpe5900",
    "vrp-vrp_ar169sfp",
]


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serve_recordings(SERVED, tmp_path_factory.mktemp("snmpsim")) as port:
        yield port


def inspect(port: int, name: str, version: str = "2c", kind: str | None = None) -> Observation:
    snmp = SnmpInspection(version=version, community="env:C", port=port, timeout="2s")

    async def run() -> Observation:
        driver = SnmpDriver(environ={"C": name})
        try:
            result = await driver.inspect_target(
                name, "127.0.0.1", snmp, kind, Depth.full, datetime.now(UTC), 30.0
            )
        finally:
            driver.close()
        return result.observation

    observation = asyncio.run(run())
    assert observation.ok, observation.error
    return observation


def identity(o: Observation) -> tuple[str, ...]:
    return tuple(o.meta.get(k, "") for k in ("vendor", "model", "kind"))


def test_huawei_vrp(snmpsim: int) -> None:
    o = inspect(snmpsim, "vrp-vrp_s5328c-ei")
    assert identity(o) == ("Huawei", "S5328C-EI", "switch")
    assert o.value("interface_up", interface="GigabitEthernet0/0/1") == 1
    assert o.value("interface_up", interface="GigabitEthernet0/0/19") == 0
    assert o.value("temperature_celsius", sensor="MPU Board 0") == 38
    assert o.value("cpu_usage_ratio") == 0.19
    assert o.value("fan_ok", fan="0/3") == 1


def test_comware(snmpsim: int) -> None:
    o = inspect(snmpsim, "comware-comware_a5500")
    assert identity(o) == ("HP", "A5500-24G EI", "switch")
    assert o.value("memory_usage_ratio") == 0.47
    assert o.value("temperature_celsius", sensor="Board") == 38
    assert o.value("power_supply_ok", psu="psu 1") == 1


def test_cisco_c3560(snmpsim: int) -> None:
    o = inspect(snmpsim, "cisco-ios_c3560")
    assert identity(o) == ("Cisco", "WS-C3560-48TS-S", "switch")
    assert o.value("cpu_usage_ratio") == 0.10
    assert o.value("fan_ok", fan="Switch#1, Fan#1") == 1
    assert o.value("interface_up", interface="Fa0/1") is not None


def test_generex_ups(snmpsim: int) -> None:
    o = inspect(snmpsim, "ups-generex-ups_cs141")
    assert identity(o) == ("Multimatic", "Upscale", "ups")
    assert o.value("ups_battery_charge_ratio") == 1.0
    assert o.value("ups_battery_minutes_remaining") == 544
    assert o.value("ups_on_battery") == 0


def test_generex_ups_over_snmpv1(snmpsim: int) -> None:
    o = inspect(snmpsim, "ups-generex-ups_cs141", version="1")
    assert identity(o) == ("Multimatic", "Upscale", "ups")
    assert o.value("ups_battery_minutes_remaining") == 544
    assert o.value("ups_load_ratio", line="2") == 0.14


def test_eaton_ups(snmpsim: int) -> None:
    o = inspect(snmpsim, "ups-eatonupsm2_9px+empg2", kind="ups")
    assert identity(o) == ("Eaton", "Eaton 9PX 1000i RT 2U", "ups")
    assert o.value("ups_battery_charge_ratio") == 1.0
    assert o.value("temperature_celsius", sensor="probe") == 27


def test_linux_net_snmp(snmpsim: int) -> None:
    o = inspect(snmpsim, "linux-linux_opensips", kind="server")
    assert identity(o) == ("Linux", "", "server")
    assert o.value("filesystem_usage_ratio", mountpoint="/") == pytest.approx(0.16628, abs=1e-4)
    assert o.value("load1") == 0.23
    assert o.value("interface_up", interface="eth0") == 1


def test_out_of_order_recording_served_sorted(snmpsim: int) -> None:
    o = inspect(snmpsim, "bmc-ibmc")
    assert o.value("up") == 1 and o.values("interface_up")


# Vendor profiles (collector/profiles/ruijie, fortigate, huawei-ibmc, dell-idrac,
# huawei-oceanstor): the same values tests/collector/test_vendor_profiles.py checks against
# the recordings' lines, here over UDP.


def test_ruijie_switches(snmpsim: int) -> None:
    o = inspect(snmpsim, "ruijie-ruijie_s6150")
    assert identity(o) == ("Ruijie", "S6150-24VS8CQ-X", "switch")
    assert o.meta["version"] == "12.6(3)B1303P1"  # ruijieDeviceSWVersion
    assert [s.value for s in o.values("fan_ok")] == [1, 1, 1, 1]
    assert o.value("power_supply_ok", psu="1/1") == 1
    assert o.value("temperature_celsius", sensor="air_inlet") == 31
    assert o.value("cpu_usage_ratio") == 0.0  # ruijieNodeCPUTotal1min = 0
    plain = inspect(snmpsim, "ruijie-ruijie")  # no Ruijie MIBs: identity and interfaces
    assert identity(plain) == ("Ruijie", "S6220-48XS4QXS", "switch")
    assert plain.values("interface_up") and not plain.values("fan_ok")


def test_fortigate_firewalls(snmpsim: int) -> None:
    o = inspect(snmpsim, "firewall-fortigate_60f", kind="firewall")
    assert identity(o) == ("Fortinet", "FGT_60F", "firewall")
    assert o.meta["version"] == "v7.2.6,build1575"
    assert o.meta["serial"] == "FGT60FTK00000000"
    assert o.value("memory_usage_ratio") == 0.33
    assert o.value("temperature_celsius", sensor="CPU ON-DIE Temperature") == 51.569  # text
    assert o.value("interface_up", interface="wan1") is not None
    old = inspect(snmpsim, "firewall-fortigate_100e", kind="firewall")
    assert identity(old) == ("Fortinet", "FGT_100E", "firewall")
    assert old.value("cpu_usage_ratio") == 0.06


def test_huawei_ibmc(snmpsim: int) -> None:
    o = inspect(snmpsim, "bmc-ibmc", kind="bmc")
    assert identity(o) == ("Huawei", "RH2288H V3", "bmc")
    assert o.meta["version"] == "2.55"  # the "Active iBMC" row of the firmware table
    assert len(o.values("fan_ok")) == 8 and all(s.value == 1 for s in o.values("fan_ok"))
    assert o.value("power_supply_ok", psu="PS2") == 1
    assert o.value("disk_ok", disk="Disk1") == 1 and len(o.values("disk_ok")) == 2
    assert o.value("memory_module_ok", module="DIMM131") == 1
    assert o.value("temperature_celsius", sensor="Inlet") == 19.0
    assert o.value("cpu_usage_ratio") == 0.2


def test_dell_idrac(snmpsim: int) -> None:
    o = inspect(snmpsim, "bmc-drac_r640", kind="bmc")
    assert identity(o) == ("Dell", "PowerEdge R640", "bmc")
    assert o.meta["version"] == "5.10.10.00"
    fans = o.values("fan_ok")  # reading above coolingDeviceLowerCriticalThreshold
    assert len(fans) == 14 and all(s.value == 1 for s in fans)
    assert o.value("temperature_celsius", sensor="System Board Inlet Temp") == 25.0
    assert o.value("cpu_ok", cpu="CPU.Socket.1") == 1
    array = "Virtual Disk 0 on RAID Controller in SL 3"
    assert o.value("raid_state", array=array, state="online") == 1
    assert o.value("raid_degraded", array=array) == 0


def test_huawei_oceanstor(snmpsim: int) -> None:
    o = inspect(snmpsim, "storage-oceanstor_dorado3k", kind="storage")
    assert identity(o) == ("Huawei", "OceanStor Dorado 3000 V6", "storage")
    assert o.meta["version"] == "6.0.1.SPH20"
    # hwInfoStoragePool: total 29531295 MB, free 27794961 MB
    expected = (29531295 - 27794961) / 29531295
    assert o.value("storage_pool_usage_ratio", pool="Pool-1") == pytest.approx(expected)
    assert o.value("controller_ok", controller="CTE0.B") == 1
    assert len(o.values("disk_ok")) == 12
    assert o.value("temperature_celsius", sensor="disk CTE0.1") == 47


# Health read for issue #14: the same values tests/collector checks line by line.


def test_cisco_entity_sensors_and_optics(snmpsim: int) -> None:
    o = inspect(snmpsim, "cisco-iosxe_ie32008t2s-ios17-12")
    assert o.value("temperature_celsius", sensor="Slot 1 - Temp: LM75BXXX") == 48
    assert o.value("optic_rx_power_dbm", interface="Gi1/1") == pytest.approx(-6.2)
    assert o.value("optic_tx_power_dbm", interface="Gi1/1") == pytest.approx(-5.6)
    assert o.value("optic_rx_power_low", interface="Gi1/1") == 0


def test_comware_sensors_and_huawei_optics(snmpsim: int) -> None:
    o = inspect(snmpsim, "comware-comware_hpe5900")
    assert o.value("temperature_celsius", sensor="SENSOR 2") == 36
    assert o.value("temperature_celsius", sensor="SENSOR 3") == 35
    a5500 = inspect(snmpsim, "comware-comware_a5500")
    assert a5500.value("optic_rx_power_dbm", interface="GigabitEthernet1/0/26") == -10.45
    ar = inspect(snmpsim, "vrp-vrp_ar169sfp")
    assert ar.value("optic_rx_power_dbm", interface="GigabitEthernet0/0/4") == -8.49
    assert ar.value("optic_tx_power_dbm", interface="GigabitEthernet0/0/4") == -5.75


def test_synology_nas(snmpsim: int) -> None:
    o = inspect(snmpsim, "storage-dsm_ds214se-dsm7", kind="server")
    assert identity(o) == ("Synology", "DS214se", "storage")
    assert o.value("disk_bad_sectors", disk="Disk 2") == 511
    assert o.value("disk_ok", disk="Disk 2") == 1
    assert o.value("raid_state", array="Storage Pool 1", state="normal") == 1
    assert o.value("system_health_ok") == 1


def test_ups_input_bypass_and_self_test(snmpsim: int) -> None:
    o = inspect(snmpsim, "ups-generex-ups_cs141")
    assert o.value("ups_on_bypass") == 1
    assert o.value("ups_input_voltage_volts", line="3") == 235
    assert o.value("ups_input_frequency_hertz") == 50.0
    eaton = inspect(snmpsim, "ups-eatonupsm2_9px+empg2", kind="ups")
    assert eaton.value("ups_load_ratio", line="total") == 0.0  # xupsOutputLoad
    assert eaton.value("ups_self_test_ok", result="aborted") == 0


def test_fortigate_sessions_ha_vpn(snmpsim: int) -> None:
    o = inspect(snmpsim, "firewall-fortigate_60f", kind="firewall")
    assert o.value("firewall_sessions") == 174
    assert o.value("ha_members") == 2
    assert o.value("ha_in_sync", member="rogforti2") == 1
    old = inspect(snmpsim, "firewall-fortigate_100e", kind="firewall")
    assert old.value("vpn_tunnel_up", tunnel="ESMAO") == 1


def test_dell_idrac_batteries_and_ruijie_limits(snmpsim: int) -> None:
    o = inspect(snmpsim, "bmc-drac_r640", kind="bmc")
    assert o.value("battery_ok", battery="PERC1 ROMB Battery") == 1
    assert o.value("power_supply_ok", psu="PS1 Voltage 1") == 1
    assert o.value("chassis_intrusion") == 0
    ruijie = inspect(snmpsim, "ruijie-ruijie_s6150")
    assert ruijie.value("temperature_over_threshold", sensor="switch") == 0
