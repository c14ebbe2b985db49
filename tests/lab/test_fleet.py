"""The fleet file: it matches inventory.yaml, its faults are checked at load, and bad
files are refused with FILE:LINE messages. No network."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.fleet import Fleet, load_fleet
from lab.ssh_server import fingerprint, host_key
from lab.state import LabState
from tests.lab.conftest import REPO_INVENTORY, lab_environ
from weibao.errors import ConfigError
from weibao.inventory.loader import load_inventory


def test_every_snmp_and_ssh_device_of_the_inventory_is_in_the_lab(fleet: Fleet) -> None:
    inventory = load_inventory(REPO_INVENTORY)
    checked = 0
    for name, ctx in inventory.device_index().items():
        inspect = ctx.device.inspect
        if inspect.snmp is None and inspect.ssh is None:
            continue
        lab = fleet.devices[name]
        assert lab.address == ctx.device.address, name
        if inspect.snmp is not None:
            assert lab.snmp is not None, name
            for field in ("version", "port", "community", "user", "auth_protocol"):
                assert getattr(lab.snmp, field) == getattr(inspect.snmp, field), (name, field)
            for field in ("auth_key", "priv_protocol", "priv_key"):
                assert getattr(lab.snmp, field) == getattr(inspect.snmp, field), (name, field)
            assert lab.snmp.port > 1023, "the lab runs unprivileged"
        if inspect.ssh is not None:
            assert lab.ssh is not None, name
            assert (lab.ssh.user, lab.ssh.port, lab.ssh.password) == (
                inspect.ssh.user,
                inspect.ssh.port,
                inspect.ssh.password,
            )
            # The inventory pins the lab's (name-derived) host key, like a real one.
            assert inspect.ssh.host_key == fingerprint(host_key(name))
        checked += 1
    assert checked == len(fleet.devices) == 12


def test_lab_env_sets_every_credential_the_lab_serves(fleet: Fleet) -> None:
    env = lab_environ()
    missing = [str(ref) for ref in fleet.secret_refs() if ref.missing_reason(env) is not None]
    assert missing == []
    assert all(value.startswith("lab-") for value in env.values()), "lab-only values"


def test_faults_patch_a_copy(fleet: Fleet) -> None:
    before = fleet.devices["ht-acc-sw-1"]
    after = fleet.effective(["port-down"])["ht-acc-sw-1"]
    assert after.interfaces["GigabitEthernet1/0/25"].up is False
    assert before.interfaces["GigabitEthernet1/0/25"].up is True
    assert fleet.effective([])["ht-acc-sw-1"] == before
    # Devices a fault does not touch are the very same objects.
    assert fleet.effective(["port-down"])["ht-ups-1"] is fleet.devices["ht-ups-1"]


def test_every_fault_says_what_it_should_open(fleet: Fleet) -> None:
    assert {"port-down", "ups-on-battery", "psu-failed", "storage-full"} <= set(fleet.faults)
    for name, fault in fleet.faults.items():
        assert fault.expect, name


def test_unknown_fault_suggests_a_name(fleet: Fleet) -> None:
    problem = fleet.unknown_fault("port-donw")
    assert problem is not None and "did you mean port-down" in problem
    assert fleet.unknown_fault("port-down") is None


FLEET_HEAD = """\
devices:
  - name: sw
    address: 127.0.0.9
    template: h3c-comware
    snmp: {version: 2c, port: 1161, community: env:C}
    system: {descr: H3C S5500, object_id: 1.3.6.1.4.1.25506.11.1.38}
    interfaces:
      GigabitEthernet1/0/1: {alias: uplink}
"""


def load(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_fleet(path)
    return [p.format() for p in caught.value.problems]


def test_a_misspelt_port_in_a_fault_is_refused_with_its_line(tmp_path: Path) -> None:
    text = FLEET_HEAD + (
        "faults:\n"
        "  down:\n"
        "    summary: the uplink goes down\n"
        "    patch:\n"
        "      sw:\n"
        "        interfaces:\n"
        "          GigabitEthernet1/0/l: {up: false}\n"
    )
    [problem] = load(tmp_path, text)
    assert "fleet.yaml:15: faults.down.patch.sw.interfaces.GigabitEthernet1/0/l:" in problem
    assert "did you mean 'GigabitEthernet1/0/1'" in problem


def test_bad_values_are_refused_where_they_are(tmp_path: Path) -> None:
    text = FLEET_HEAD.replace("{alias: uplink}", "{alias: uplink, speeed: 10}") + (
        "  - name: ups\n"
        "    address: 127.0.0.300\n"
        "    snmp: {version: 2c, port: 1161, community: public}\n"
        "faults:\n"
        "  x:\n"
        "    summary: s\n"
        "    patch: {nobody: {silent: true}}\n"
    )
    problems = "\n".join(load(tmp_path, text))
    assert (
        ":8: devices[sw].interfaces.GigabitEthernet1/0/1.speeed: unknown key 'speeed'" in problems
    )
    assert "address: '127.0.0.300' is not an IPv4 address" in problems
    assert "snmp.community: a literal secret is written here" in problems
    assert "public" not in problems  # never the value


def test_a_fault_naming_no_device_is_refused(tmp_path: Path) -> None:
    text = FLEET_HEAD + "faults:\n  x:\n    summary: s\n    patch: {sww: {silent: true}}\n"
    [problem] = load(tmp_path, text)
    assert "faults.x.patch.sww: no lab device named 'sww' (did you mean sw?)" in problem


def test_boot_times_survive_a_restart(tmp_path: Path) -> None:
    state = LabState(tmp_path / "lab")
    now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    first = state.boot_times({"sw": timedelta(days=10)}, now)
    assert first["sw"] == (now - timedelta(days=10)).timestamp()
    # A restart a day later keeps the boot time: uptime goes on, no "reboot".
    again = state.boot_times({"sw": timedelta(days=10)}, now + timedelta(days=1))
    assert again == first


def test_fault_switches_are_recorded(tmp_path: Path) -> None:
    state = LabState(tmp_path / "lab")
    now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
    assert state.faults() == {}
    assert state.set_fault("port-down", True, now) is True
    assert state.set_fault("port-down", True, now) is False
    assert state.faults() == {"port-down": "2026-04-01T02:00:00+00:00"}
    assert state.clear_faults() == ["port-down"]
    assert state.faults() == {}


DOC = Path(__file__).resolve().parents[2] / "docs" / "lab.md"


def test_the_docs_fleet_example_loads(tmp_path: Path) -> None:
    [example] = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    path = tmp_path / "fleet.yaml"
    path.write_text(example, encoding="utf-8")
    fleet = load_fleet(path)
    assert list(fleet.devices) == ["ht-acc-sw-1", "ht-db-01"]
    down = fleet.effective(["port-down"])["ht-acc-sw-1"]
    assert down.interfaces["GigabitEthernet1/0/25"].up is False


def test_the_docs_list_every_fault_with_its_ticket(fleet: Fleet) -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, fault in fleet.faults.items():
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
        for expect in fault.expect:
            assert f"`{expect.rule}`" in row and f"level {expect.level.value}" in row, name
