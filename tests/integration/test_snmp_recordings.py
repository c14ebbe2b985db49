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
