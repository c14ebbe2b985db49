"""H3C Comware and Cisco IOS inspections: parsers on saved output, then over SSH.

The saved outputs (``fixtures/ssh/comware``, ``fixtures/ssh/ios``) are made by us after
the vendors' documented layouts (see their README). The shell inspections run over real
SSH against :mod:`tests.collector.cli_shell_peer`, a **simulator** (no real device runs
here) that answers each profile command with its saved output, so an inspection must
give exactly the parsers' readings.
"""

from __future__ import annotations

import asyncio
import json
import os as _os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from collector.driver import Depth, InspectionResult
from collector.ssh.driver import SshDriver
from collector.ssh.parsers import Reading, comware, ios
from collector.ssh.profiles import PROFILES, Profile
from collector.ssh.shell import COMWARE_ERROR, IOS_ERROR, IOS_PROMPT, command_error, prompt_name
from tests.collector.cli_shell_peer import (
    COMWARE,
    IOS,
    IOS_USER_EXEC,
    CliBehaviour,
    CliShellPeer,
    CliStyle,
    running,
)
from weibao.inventory.model import SshInspection

NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "ssh"
SHORT = {"h3c-comware": "comware", "cisco-ios": "ios"}


def text(folder: str, name: str) -> str:
    return (FIXTURES / folder / f"{name}.txt").read_text(encoding="utf-8")


def by(reading: Reading, name: str, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in reading.samples if s.name == name}


def one(reading: Reading, name: str) -> float:
    (value,) = [s.value for s in reading.samples if s.name == name]
    return value


# ---------------------------------------------------------------- Comware parsers


def test_comware_version_model_and_uptime() -> None:
    seven = comware.parse_version(text("comware", "version"))
    assert seven.facts == {"version": "7.1.070, Release 6635P07", "model": "S5560X-30C-EI"}
    assert one(seven, "uptime_seconds") == 12 * 86400 + 5 * 3600 + 42 * 60
    five = comware.parse_version(text("comware", "version_cw5"))
    assert five.facts == {"version": "5.20, Release 2220P02", "model": "S5500-28C-EI"}
    assert one(five, "uptime_seconds") == 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60


def test_comware_cpu_and_memory_in_both_layouts() -> None:
    assert one(comware.parse_cpu_usage(text("comware", "cpu_usage")), "cpu_usage_ratio") == 0.07
    assert one(comware.parse_cpu_usage(text("comware", "cpu_usage_cw5")), "cpu_usage_ratio") == (
        pytest.approx(0.17)
    )
    # Used without buffers and cache: the -/+ Buffers/Cache line over the total.
    memory = one(comware.parse_memory(text("comware", "memory")), "memory_usage_ratio")
    assert memory == pytest.approx(847400 / 1981920)
    assert one(comware.parse_memory(text("comware", "memory_cw5")), "memory_usage_ratio") == 0.16
    assert comware.parse_memory("% Unrecognized command found at '^' position.").samples == []


def test_comware_fans_and_power_supplies_in_both_layouts() -> None:
    assert by(comware.parse_fan(text("comware", "fan")), "fan_ok", "fan") == {
        "1/1": 1.0,
        "1/2": 0.0,
    }
    assert by(comware.parse_fan(text("comware", "fan_cw5")), "fan_ok", "fan") == {
        "1/1": 1.0,
        "1/2": 0.0,
    }
    psus = by(comware.parse_power(text("comware", "power")), "power_supply_ok", "psu")
    assert psus == {"1/1": 1.0, "1/2": 0.0}
    # Comware 5: the absent supply gives no sample ("not installed" is not "failed").
    psus = by(comware.parse_power(text("comware", "power_cw5")), "power_supply_ok", "psu")
    assert psus == {"1/1": 1.0}


def test_comware_temperatures_against_the_devices_own_limits() -> None:
    reading = comware.parse_environment(text("comware", "environment"))
    assert by(reading, "temperature_celsius", "sensor") == {
        "1/hotspot 1": 81.0,
        "1/hotspot 2": 47.0,
        "1/inflow 1": 29.0,
        "1/outflow 1": 38.0,
    }
    over = by(reading, "temperature_over_threshold", "sensor")
    assert over == {"1/hotspot 1": 1.0, "1/hotspot 2": 0.0, "1/inflow 1": 0.0, "1/outflow 1": 0.0}
    five = comware.parse_environment(text("comware", "environment_cw5"))
    assert by(five, "temperature_over_threshold", "sensor") == {"1/board": 0.0, "2/board": 1.0}


def test_comware_interfaces_by_their_full_names_with_descriptions() -> None:
    reading = comware.parse_interface_brief(text("comware", "interface_brief"))
    up = by(reading, "interface_up", "interface")
    admin = by(reading, "interface_admin_up", "interface")
    assert up["GigabitEthernet1/0/1"] == 1.0
    assert (up["GigabitEthernet1/0/2"], admin["GigabitEthernet1/0/2"]) == (0.0, 1.0)
    assert (up["GigabitEthernet1/0/3"], admin["GigabitEthernet1/0/3"]) == (0.0, 0.0)
    assert up["Ten-GigabitEthernet1/0/25"] == 1.0 and up["Bridge-Aggregation1"] == 1.0
    assert up["FortyGigE1/0/29"] == 0.0 and up["M-GigabitEthernet0/0/0"] == 0.0
    assert "Vlan-interface1" in up and "InLoopBack0" in up and "NULL0" in up
    aliases = {
        s.labels["interface"]: s.labels.get("alias")
        for s in reading.samples
        if s.name == "interface_up"
    }
    assert aliases["GigabitEthernet1/0/2"] == "camera-lobby"
    assert aliases["Ten-GigabitEthernet1/0/26"] == "uplink-to-core"
    assert aliases["GigabitEthernet1/0/4"] is None
    five = comware.parse_interface_brief(text("comware", "interface_brief_cw5"))
    admin = by(five, "interface_admin_up", "interface")
    assert admin == {
        "NULL0": 1.0,
        "Vlan-interface1": 1.0,
        "GigabitEthernet1/0/1": 1.0,
        "GigabitEthernet1/0/2": 1.0,
        "GigabitEthernet1/0/3": 0.0,  # "ADM DOWN" on Comware 5
    }


def test_comware_transceivers_against_their_alarm_thresholds() -> None:
    reading = comware.parse_transceiver_diagnosis(text("comware", "transceiver"))
    assert by(reading, "optic_rx_power_dbm", "interface") == {
        "Ten-GigabitEthernet1/0/25": -3.92,
        "Ten-GigabitEthernet1/0/26": -16.87,
    }
    low = by(reading, "optic_rx_power_low", "interface")
    assert low == {"Ten-GigabitEthernet1/0/25": 0.0, "Ten-GigabitEthernet1/0/26": 1.0}
    assert by(reading, "optic_tx_power_dbm", "interface")["Ten-GigabitEthernet1/0/26"] == -2.61
    temps = by(reading, "temperature_celsius", "sensor")
    assert temps["Ten-GigabitEthernet1/0/26 transceiver"] == 41.0
    assert "GigabitEthernet1/0/1" not in by(reading, "optic_rx_power_dbm", "interface")


def test_comware_logbuffer_counts_new_errors_only() -> None:
    log = text("comware", "logbuffer")
    first = comware.parse_logbuffer(log, None)
    (found,) = first.samples
    # DEV/2 (power), IFNET/3 (a port went down), DEV/3 (fan): not the levels 5 and 6
    assert (found.value, found.labels["source"]) == (3, "logbuffer")
    assert "DEV/3/FAN_FAILED: Fan 2 failed." in found.labels["text"]
    assert first.cursor is not None and "SHELL_CMD" in first.cursor
    again = comware.parse_logbuffer(log, first.cursor)
    assert (again.samples[0].value, again.samples[0].labels["text"]) == (0, "")
    newer = log + ("%Nov 21 10:31:02:004 2026 HZ-CORE-SW01 DEV/2/POWER_FAILED: Power 1 failed.\n")
    assert comware.parse_logbuffer(newer, first.cursor).samples[0].value == 1
    # The entry last seen is gone (the buffer wrapped): the whole buffer counts again.
    assert (
        comware.parse_logbuffer(log, "%Jan  1 00:00:00:000 2026 X A/1/B: gone").samples[0].value
        == 3
    )


# ---------------------------------------------------------------- IOS parsers


def test_ios_version_model_serial_and_uptime() -> None:
    xe = ios.parse_version(text("ios", "version"))
    assert xe.facts == {
        "version": "17.09.04a",
        "model": "C9300-48P",
        "serial": "FOC2318X0LM",
        "hostname": "SH-ACC-SW02",
    }
    assert one(xe, "uptime_seconds") == 365 * 86400 + 6 * 7 * 86400 + 2 * 86400 + 3 * 3600 + 17 * 60
    classic = ios.parse_version(text("ios", "version_2960"))
    assert classic.facts["version"] == "15.2(7)E8"
    assert classic.facts["model"] == "WS-C2960X-48FPD-L"
    assert classic.facts["hostname"] == "HZ-ACC-SW07"


def test_ios_cpu_and_processor_memory() -> None:
    assert one(ios.parse_cpu(text("ios", "cpu")), "cpu_usage_ratio") == 0.08
    memory = one(ios.parse_memory_statistics(text("ios", "memory")), "memory_usage_ratio")
    assert memory == pytest.approx(632345128 / 1752395312)


def test_ios_environment_of_a_catalyst_9300() -> None:
    reading = ios.parse_environment(text("ios", "environment"))
    assert by(reading, "fan_ok", "fan") == {"1/1": 1.0, "1/2": 1.0, "1/3": 0.0, "PS-1": 1.0}
    assert by(reading, "power_supply_ok", "psu") == {"1A": 1.0, "1B": 0.0}
    assert by(reading, "temperature_celsius", "sensor") == {
        "1 SYSTEM INLET": 27.0,
        "1 SYSTEM OUTLET": 38.0,
        "1 SYSTEM HOTSPOT": 105.0,
    }
    over = by(reading, "temperature_over_threshold", "sensor")
    assert over == {"1 SYSTEM INLET": 0.0, "1 SYSTEM OUTLET": 0.0, "1 SYSTEM HOTSPOT": 1.0}


def test_ios_environment_of_a_catalyst_2960() -> None:
    reading = ios.parse_environment(text("ios", "environment_2960"))
    assert by(reading, "fan_ok", "fan") == {"1": 1.0}
    assert by(reading, "power_supply_ok", "psu") == {"1": 1.0}  # built-in, Sys Pwr Good
    assert by(reading, "temperature_celsius", "sensor") == {"system": 57.0}
    assert by(reading, "temperature_over_threshold", "sensor") == {"system": 1.0}  # >= yellow


def test_ios_interfaces_with_admin_state_and_description() -> None:
    reading = ios.parse_interfaces_description(text("ios", "interfaces"))
    up = by(reading, "interface_up", "interface")
    admin = by(reading, "interface_admin_up", "interface")
    assert (up["Gi1/0/1"], up["Gi1/0/2"], admin["Gi1/0/2"]) == (1.0, 0.0, 1.0)
    assert (up["Gi1/0/3"], admin["Gi1/0/3"]) == (0.0, 0.0)
    assert (up["Vl1"], admin["Vl1"]) == (0.0, 0.0)
    assert len(up) == 10
    aliases = {
        s.labels["interface"]: s.labels.get("alias")
        for s in reading.samples
        if s.name == "interface_admin_up"
    }
    assert aliases["Te1/1/2"] == "uplink-core-2" and aliases["Gi1/0/4"] is None


@pytest.mark.parametrize("layout", ["transceiver", "transceiver_2960"])
def test_ios_transceivers_use_the_devices_own_flags(layout: str) -> None:
    reading = ios.parse_transceiver(text("ios", layout))
    low = by(reading, "optic_rx_power_low", "interface")
    assert sorted(low.values()) == [0.0, 1.0]  # one port at its low alarm ("--")
    rx = by(reading, "optic_rx_power_dbm", "interface")
    assert min(rx.values()) in (-19.8, -23.4)
    assert len(by(reading, "optic_tx_power_dbm", "interface")) == 2
    if layout == "transceiver":
        over = by(reading, "temperature_over_threshold", "sensor")
        assert over == {"Te1/1/1 transceiver": 0.0, "Te1/1/2 transceiver": 1.0}  # "+"


def test_ios_logging_counts_severities_up_to_3() -> None:
    reading = ios.parse_logging(text("ios", "logging"), None)
    (found,) = reading.samples
    assert found.value == 2  # PLATFORM_PS-1 and LINK-3; not SEC_LOGIN-5, LINEPROTO-5, SYS-6
    assert "%LINK-3-UPDOWN" in found.labels["text"]
    assert ios.parse_logging(text("ios", "logging"), reading.cursor).samples[0].value == 0


# ---------------------------------------------------------------- prompts and errors


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("SH-ACC-SW02#", "SH-ACC-SW02"),
        ("Router>", "Router"),
        ("core_sw.1#", "core_sw.1"),
        ("Router(config)#", "Router"),
        ("Router#show version", None),
        ("Gi1/0/2 down", None),
        ("#", None),
        ("---- More ----", None),
    ],
)
def test_ios_prompts(line: str, name: str | None) -> None:
    assert prompt_name(line, IOS_PROMPT) == name


def test_comware_prompts_are_the_vrp_ones() -> None:
    assert prompt_name("<H3C>") == "H3C" and prompt_name("[H3C]") == "H3C"


def test_refused_commands_per_cli() -> None:
    assert command_error(
        "        ^\n% Unrecognized command found at '^' position.\n", COMWARE_ERROR
    ) == ("% Unrecognized command found at '^' position.")
    assert command_error("   ^\n% Invalid input detected at '^' marker.\n", IOS_ERROR) is not None
    assert command_error("% Incomplete command.\n", IOS_ERROR) is not None
    # Real output that merely starts with a percent sign is not a refusal.
    assert command_error("%Nov 21 10:20:31:123 2026 H3C DEV/3/FAN_FAILED\n", COMWARE_ERROR) is None
    assert command_error(text("ios", "logging"), IOS_ERROR) is None


# ---------------------------------------------------------------- over SSH, simulators


def device_outputs(profile: Profile) -> dict[str, str]:
    return {c.line: text(SHORT[profile.name], c.key) for c in profile.commands}


def expected_samples(profile: Profile) -> list[tuple[str, dict[str, str], float]]:
    expected: list[tuple[str, dict[str, str], float]] = [("up", {}, 1.0)]
    for command in profile.for_depth(Depth.full):
        reading = command.parse_output(text(SHORT[profile.name], command.key), NOW)
        expected += [(s.name, s.labels, s.value) for s in reading.samples]
    return expected


def samples(result: InspectionResult) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for s in result.observation.samples]


def inspect(
    peer: CliShellPeer, os: str, driver: SshDriver | None = None, budget: float = 10
) -> InspectionResult:
    ssh = SshInspection.model_validate(
        {
            "user": peer.user,
            "password": "env:CLI_PASSWORD",
            "host_key": peer.fingerprint,
            "port": peer.port,
            "os": os,
            "timeout": "2s",
        }
    )

    async def run(driver: SshDriver) -> InspectionResult:
        return await driver.inspect_target("sw", "127.0.0.1", ssh, Depth.full, NOW, budget)

    if driver is not None:
        return asyncio.run(run(driver))
    own = SshDriver(max_threads=2, environ={"CLI_PASSWORD": peer.password})
    try:
        return asyncio.run(run(own))
    finally:
        own.close()


CASES = [
    ("h3c-comware", COMWARE, "HZ-CORE-SW01"),
    ("cisco-ios", IOS, "SH-ACC-SW02"),
    ("cisco-ios", IOS_USER_EXEC, "SH-ACC-SW02"),
]


@pytest.fixture(params=CASES, ids=["comware", "ios", "ios-user-exec"])
def device(request: pytest.FixtureRequest) -> Iterator[tuple[str, CliShellPeer]]:
    os, style, name = request.param
    behaviour = CliBehaviour(sysname=name, outputs=device_outputs(PROFILES[os]), style=style)
    with running(behaviour) as peer:
        yield os, peer


def test_full_inspection_gives_the_parsers_readings(device: tuple[str, CliShellPeer]) -> None:
    os, peer = device
    profile = PROFILES[os]
    result = inspect(peer, os)
    assert not result.failed, result.observation.error
    assert samples(result) == expected_samples(profile)
    meta = result.observation.meta
    assert "unavailable" not in meta and meta["profile"] == os
    assert meta["model"] == {"h3c-comware": "S5560X-30C-EI", "cisco-ios": "C9300-48P"}[os]
    for command in profile.commands:  # no echo, prompt, CR or banner in what was parsed
        assert result.raw[command.key] == text(SHORT[os], command.key), command.key
    assert profile.shell is not None
    assert peer.received == [*profile.shell.setup, *[c.line for c in profile.commands],
                             profile.shell.exit]  # fmt: skip
    assert peer.pagers_shown == 0
    obs = result.observation
    errors = {"h3c-comware": 3, "cisco-ios": 2}[os]
    assert obs.value("log_error_lines", source="logbuffer", text=_latest_error(result)) == errors


def _latest_error(result: InspectionResult) -> str:
    (log,) = [s for s in result.observation.samples if s.name == "log_error_lines"]
    return log.labels["text"]


@pytest.mark.parametrize("os, style", [("h3c-comware", COMWARE), ("cisco-ios", IOS)])
def test_the_pager_is_answered_when_paging_is_refused(os: str, style: CliStyle) -> None:
    profile = PROFILES[os]
    behaviour = CliBehaviour(
        outputs=device_outputs(profile), style=style, paging_honoured=False, page_lines=5
    )
    with running(behaviour) as peer:
        result = inspect(peer, os)
    assert not result.failed, result.observation.error
    assert peer.pagers_shown >= 10
    assert samples(result) == expected_samples(profile)


@pytest.mark.parametrize(
    "os, style, missing, error",
    [
        ("h3c-comware", COMWARE, "display transceiver diagnosis interface", "% Unrecognized"),
        ("cisco-ios", IOS, "show environment all", "% Invalid input detected"),
    ],
)
def test_a_refused_command_fails_alone(os: str, style: CliStyle, missing: str, error: str) -> None:
    profile = PROFILES[os]
    outputs = device_outputs(profile)
    del outputs[missing]
    with running(CliBehaviour(outputs=outputs, style=style)) as peer:
        result = inspect(peer, os)
    obs = result.observation
    assert not result.failed and obs.value("up") == 1
    key = next(c.key for c in profile.commands if c.line == missing)
    assert f"{key} (exit 1: {error}" in obs.meta["unavailable"]
    assert obs.value("cpu_usage_ratio") is not None  # the others still count
    assert profile.shell is not None and peer.received[-1] == profile.shell.exit


def test_the_next_full_inspection_counts_only_new_log_entries() -> None:
    profile = PROFILES["cisco-ios"]
    outputs = device_outputs(profile)
    behaviour = CliBehaviour(outputs=outputs, style=IOS)
    with running(behaviour) as peer:
        driver = SshDriver(max_threads=2, environ={"CLI_PASSWORD": peer.password})
        try:
            first = inspect(peer, "cisco-ios", driver)
            second = inspect(peer, "cisco-ios", driver)
            peer.behaviour = replace(
                behaviour,
                outputs={
                    **outputs,
                    "show logging": outputs["show logging"] + NEW_LOG_LINE,
                },
            )
            third = inspect(peer, "cisco-ios", driver)
        finally:
            driver.close()
    assert [_count(r) for r in (first, second, third)] == [2, 0, 1]
    assert "FAN_FAILED" in _latest_error(third)


NEW_LOG_LINE = "Nov 21 10:40:00.000 CST: %PLATFORM_FAN-3-FAN_FAILED: Switch 1: fan 3 failed\n"


def _count(result: InspectionResult) -> float:
    assert not result.failed, result.observation.error
    (log,) = [s for s in result.observation.samples if s.name == "log_error_lines"]
    return log.value


@pytest.mark.parametrize(
    "os, style, vendor, model",
    [("h3c-comware", COMWARE, "H3C", "S5560X-30C-EI"), ("cisco-ios", IOS, "Cisco", "C9300-48P")],
)
def test_probe_ssh_takes_the_new_os_names(
    os: str, style: CliStyle, vendor: str, model: str
) -> None:
    """``weibao probe ssh --os ...`` as a process, against the simulator."""
    app = "import typer\nfrom weibao.cli import probe_cmd\napp = typer.Typer()\n"
    app += "probe_cmd.register(app)\napp()\n"
    root = Path(__file__).resolve().parents[2]
    behaviour = CliBehaviour(outputs=device_outputs(PROFILES[os]), style=style)
    with running(behaviour) as peer:
        done = subprocess.run(
            [sys.executable, "-c", app, "probe", "ssh", f"{peer.user}@127.0.0.1:{peer.port}",
             "--password-env", "CLI_PASSWORD", "--host-key", peer.fingerprint, "--os", os,
             "--json"],
            cwd=root,
            env={**_os.environ, "PYTHONPATH": str(root), "CLI_PASSWORD": peer.password},
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["ok"] is True and body["detected"]["model"] == model
    [device] = yaml.safe_load(body["inventory"])
    assert (device["kind"], device["vendor"], device["model"]) == ("switch", vendor, model)
    assert device["inspect"]["ssh"]["os"] == os
    assert peer.password not in done.stdout + done.stderr
