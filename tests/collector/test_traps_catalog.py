"""Trap catalog files: the built-in ones load; mistakes are located, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.snmp.oid import parse_oid
from collector.traps.catalog_files import check_catalog, load_catalog
from weibao.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_built_in_catalog_loads_the_standard_ups_and_vendor_traps() -> None:
    catalog, problems = check_catalog()
    assert problems == [] and catalog is not None
    names = {spec.name for spec in catalog.traps.values()}
    assert {"linkDown", "linkUp", "coldStart", "warmStart", "authenticationFailure"} <= names
    assert {"upsTrapOnBattery", "upsTrapAlarmEntryAdded", "upsTrapAlarmEntryRemoved"} <= names
    assert {"hwBoardFail", "hwPowerFail", "ciscoEnvMonFanStatusChangeNotif"} <= names


def test_a_users_file_adds_a_vendor_trap_and_can_redefine_a_built_in_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
varbinds:
  acmeDoorName: 1.3.6.1.4.1.99999.1.1
traps:
  - name: acmeDoorOpen
    oid: 1.3.6.1.4.1.99999.0.1
    state:
      - name: trap_alarm
        value: 1
        labels: {alarm: door_open, object: "{acmeDoorName}", severity: minor}
  - name: authenticationFailure
    oid: 1.3.6.1.6.3.1.1.5.5
""",
    )
    catalog = load_catalog([tmp_path])
    assert catalog.traps[parse_oid("1.3.6.1.4.1.99999.0.1")].name == "acmeDoorOpen"
    assert catalog.traps[parse_oid("1.3.6.1.6.3.1.1.5.5")].events == []  # replaced
    assert load_catalog([path]).find(parse_oid("1.3.6.1.4.1.99999.0.1")) is not None


def test_every_mistake_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
varbinds:
  ifName: 1.3.6.1.2.1.99
traps:
  - name: one
    oid: 1.3.6.1.4.1.99999.0.1
    samples:
      - {name: fan_okay, value: 0, labels: {fan: x}}
      - {name: fan_ok, value: 0}
    state:
      - {name: trap_link_up, value: 0, labels: {interface: "{portName}"}}
      - {name: trap_alarm, value: 1, labels: {alarm: a, object: "{ifName:colours}"}}
    events:
      - {name: trap_auth_failures, colour: red}
  - name: two
    oid: 1.3.6.1.4.1.99999.0.1
""",
    )
    catalog, problems = check_catalog([path])
    assert catalog is None
    text = "\n".join(p.format() for p in problems)
    assert f"{path}:13: traps[one].events[trap_auth_failures].colour: unknown key 'colour'" in text
    # That file did not validate: the checks that need valid entries come on the next run.
    path.write_text(path.read_text().replace(", colour: red", ""))
    _, problems = check_catalog([path])
    text = "\n".join(p.format() for p in problems)
    assert f"{path}:2: varbinds.ifName: ifName is 1.3.6.1.2.1.31.1.1.1.1" in text
    assert f"{path}:7: traps[one].samples[fan_okay].name: 'fan_okay' is not a vocabulary" in text
    assert f"{path}:8: traps[one].samples[fan_ok].labels: fan_ok is identified by label" in text
    assert (
        f"{path}:10: traps[one].state[trap_link_up].labels.interface: unknown varbind 'portName'"
        in text
    )
    assert f"{path}:11: traps[one].state[trap_alarm].labels.object: unknown enum 'colours'" in text
    assert "trap_alarm is identified" not in text
    assert f"{path}:15: traps[two].oid: 1.3.6.1.4.1.99999.0.1 is defined twice" in text
    with pytest.raises(ConfigError, match="problem"):
        load_catalog([path])


def test_an_oid_must_be_numeric(tmp_path: Path) -> None:
    path = write(tmp_path, "traps:\n  - name: x\n    oid: IF-MIB::linkDown\n")
    _, problems = check_catalog([path], builtin=False)
    assert [p.line for p in problems] == [3]
    assert "not a numeric OID" in problems[0].message


def test_the_example_in_the_guide_loads(tmp_path: Path) -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "collector.md"
    text = guide.read_text(encoding="utf-8").split("### The catalog", 1)[1]
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    catalog = load_catalog([write(tmp_path, example)])
    door = catalog.find(parse_oid("1.3.6.1.4.1.99999.0.0.1"))  # as a v1 trap would arrive
    assert door is not None and door.name == "acmeDoorOpen"
