"""The lab's SNMP agents as net-snmp's own tools see them (real snmpget/snmpwalk)."""

from __future__ import annotations

import subprocess

import pytest

from lab.mibs import interface_indexes
from tests.lab.conftest import RunningLab, lab_environ
from tests.peers import require_peer

pytestmark = pytest.mark.integration

ENV = lab_environ()
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"


@pytest.fixture(scope="module")
def tool_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No MIBs (numeric output), and net-snmp's per-user state in a temporary directory."""
    home = tmp_path_factory.mktemp("netsnmp")
    return {
        "MIBS": "",
        "SNMP_PERSISTENT_DIR": str(home),
        "SNMPCONFPATH": str(home),
        "HOME": str(home),
    }


def run(tool: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = require_peer(tool, f"net-snmp's {tool} reads the lab's agents")
    return subprocess.run(
        [binary, "-On", "-r0", "-t1", *args], env=env, capture_output=True, text=True, timeout=30
    )


def v3(lab: RunningLab, device: str, prefix: str = "WEIBAO_HT") -> list[str]:
    return [
        "-v3",
        "-l",
        "authPriv",
        "-u",
        "weibao",
        "-a",
        "SHA-256",
        "-A",
        ENV[f"{prefix}_SNMP_AUTH"],
        "-x",
        "AES",
        "-X",
        ENV[f"{prefix}_SNMP_PRIV"],
        f"127.0.0.1:{lab.port(device)}",
    ]


def v2c(lab: RunningLab, device: str, community: str = "WEIBAO_HT_SNMP_COMMUNITY") -> list[str]:
    return ["-v2c", "-c", ENV[community], f"127.0.0.1:{lab.port(device)}"]


def test_snmpget_v3_auth_priv_reads_the_core_switch(
    running_lab: RunningLab, tool_env: dict[str, str]
) -> None:
    done = run(
        "snmpget",
        [*v3(running_lab, "ht-core-sw-1"), "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.2.0"],
        tool_env,
    )
    assert done.returncode == 0, done.stderr
    assert '.1.3.6.1.2.1.1.5.0 = STRING: "ht-core-sw-1"' in done.stdout
    assert ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.2011.2.23.102" in done.stdout


def test_snmpwalk_v2c_lists_the_access_switch_ports(
    running_lab: RunningLab, tool_env: dict[str, str]
) -> None:
    done = run("snmpwalk", [*v2c(running_lab, "ht-acc-sw-1"), IF_NAME], tool_env)
    assert done.returncode == 0, done.stderr
    names = [line.split("STRING: ", 1)[1].strip('"') for line in done.stdout.splitlines()]
    assert names[0] == "GigabitEthernet1/0/1"
    assert "GigabitEthernet1/0/25" in names and len(names) == 11


def test_a_wrong_community_gets_no_answer(
    running_lab: RunningLab, tool_env: dict[str, str]
) -> None:
    args = ["-v2c", "-c", "not-the-community", f"127.0.0.1:{running_lab.port('ht-fw-1')}"]
    done = run("snmpget", [*args, "1.3.6.1.2.1.1.5.0"], tool_env)
    assert done.returncode != 0
    assert "Timeout" in done.stderr


def test_port_down_fault_as_snmpget_sees_it(
    running_lab: RunningLab, tool_env: dict[str, str]
) -> None:
    device = running_lab.thread.lab.fleet.devices["ht-acc-sw-1"]
    index = interface_indexes(device)["GigabitEthernet1/0/25"]
    oid = f"{IF_OPER}.{index}"
    args = [*v2c(running_lab, "ht-acc-sw-1"), oid, f"1.3.6.1.2.1.2.2.1.7.{index}"]
    before = run("snmpget", args, tool_env)
    assert f".{oid} = INTEGER: 1" in before.stdout, before.stderr
    running_lab.fault("port-down", True)
    try:
        after = run("snmpget", args, tool_env)
        assert f".{oid} = INTEGER: 2" in after.stdout, after.stderr  # oper down
        assert f".1.3.6.1.2.1.2.2.1.7.{index} = INTEGER: 1" in after.stdout  # admin up
    finally:
        running_lab.fault("port-down", False)
    again = run("snmpget", args, tool_env)
    assert f".{oid} = INTEGER: 1" in again.stdout


def test_ups_on_battery_as_snmpwalk_sees_it(
    running_lab: RunningLab, tool_env: dict[str, str]
) -> None:
    args = v2c(running_lab, "ht-ups-1", "WEIBAO_HT_UPS_COMMUNITY")
    before = run("snmpwalk", [*args, "1.3.6.1.2.1.33.1.4.1"], tool_env)
    assert ".1.3.6.1.2.1.33.1.4.1.0 = INTEGER: 3" in before.stdout, before.stderr  # normal
    running_lab.fault("ups-on-battery", True)
    try:
        after = run("snmpwalk", [*args, "1.3.6.1.2.1.33.1"], tool_env)
        assert ".1.3.6.1.2.1.33.1.4.1.0 = INTEGER: 5" in after.stdout  # battery
        assert ".1.3.6.1.2.1.33.1.6.2.1.2.1 = OID: .1.3.6.1.2.1.33.1.6.3.2" in after.stdout
    finally:
        running_lab.fault("ups-on-battery", False)


def test_the_whole_switch_walks_in_order(running_lab: RunningLab, tool_env: dict[str, str]) -> None:
    """snmpwalk stops with an error on an OID out of order: the whole tree must walk."""
    done = run("snmpbulkwalk", [*v3(running_lab, "rd-core-sw-1", "WEIBAO_RD"), "1.3.6"], tool_env)
    assert done.returncode == 0, done.stderr
    assert "OID not increasing" not in done.stderr
    assert len(done.stdout.splitlines()) > 100
