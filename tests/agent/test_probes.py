"""Failed units, clock and SMART from canned program outputs; unknown is never zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.commands import CommandUnavailable
from agent.probes import (
    CHRONY,
    FAILED_UNITS,
    NTP_SYNCHRONIZED,
    TIMESYNC_STATUS,
    Probes,
    parse_chronyc_tracking,
    parse_smartctl_health,
    parse_timespan,
    probe_clock,
    probe_failed_units,
    probe_smart,
)
from tests.agent.conftest import FIXTURES, FakeCommands, Ticker, run_root

COMMANDS = FIXTURES / "commands"


def test_failed_units_are_unknown_without_systemd_even_where_systemctl_exists(
    tmp_path: Path,
) -> None:
    commands = FakeCommands()
    commands.answer(FAILED_UNITS, 0, "systemctl-failed.txt")
    probed = probe_failed_units(commands.run, commands.which, run_root(tmp_path, systemd=False))
    assert probed.value is None
    assert probed.unknown == "systemd is not running on this machine"
    assert commands.calls == []


def test_failed_units_listed(tmp_path: Path) -> None:
    commands = FakeCommands()
    commands.answer(FAILED_UNITS, 0, "systemctl-failed.txt")
    probed = probe_failed_units(commands.run, commands.which, run_root(tmp_path, systemd=True))
    assert probed.value == ("nginx.service", "backup-nightly.timer")


def test_no_failed_units_is_zero_not_unknown(tmp_path: Path) -> None:
    commands = FakeCommands()
    commands.answer(FAILED_UNITS, 0)
    probed = probe_failed_units(commands.run, commands.which, run_root(tmp_path, systemd=True))
    assert probed.value == () and probed.unknown is None


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((1, ""), "exited with status 1"),
        (CommandUnavailable("systemctl did not answer within 10 s"), "did not answer"),
    ],
)
def test_systemctl_failing_is_unknown(
    tmp_path: Path, answer: tuple[int, str] | Exception, why: str
) -> None:
    commands = FakeCommands(outputs={FAILED_UNITS: answer}, installed={"systemctl"})
    probed = probe_failed_units(commands.run, commands.which, run_root(tmp_path, systemd=True))
    assert probed.value is None and why in (probed.unknown or "")


def test_systemctl_not_installed(tmp_path: Path) -> None:
    probed = probe_failed_units(
        FakeCommands().run, FakeCommands().which, run_root(tmp_path, systemd=True)
    )
    assert probed.unknown == "systemctl is not installed"


def test_chrony_offset_is_local_minus_reference() -> None:
    # chronyd's correction -0.000012345 s: the local clock is fast by 12.345 µs.
    state = parse_chronyc_tracking((COMMANDS / "chronyc-tracking.csv").read_text())
    assert state.offset_seconds == pytest.approx(0.000012345)
    assert state.synchronized is True and state.source == "chrony"


def test_chrony_not_synchronised_has_no_offset() -> None:
    state = parse_chronyc_tracking((COMMANDS / "chronyc-unsynchronised.csv").read_text())
    assert (state.synchronized, state.offset_seconds) == (False, None)
    with pytest.raises(ValueError, match="fields"):
        parse_chronyc_tracking("506 Cannot talk to daemon")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+1.234ms", 0.001234), ("-529us", -0.000529), ("+1min 2.5s", 62.5), ("+2s", 2.0)],
)
def test_systemd_time_spans(text: str, seconds: float) -> None:
    assert parse_timespan(text) == pytest.approx(seconds)


def test_timesyncd_when_chrony_is_absent(tmp_path: Path) -> None:
    commands = FakeCommands()
    commands.outputs[NTP_SYNCHRONIZED] = (0, "yes\n")
    commands.answer(TIMESYNC_STATUS, 0, "timesync-status.txt")
    probed = probe_clock(commands.run, commands.which, run_root(tmp_path, systemd=True))
    assert probed.value is not None
    # timesyncd's offset -1.234 ms says the server is behind: we are 1.234 ms ahead.
    assert probed.value.offset_seconds == pytest.approx(0.001234)
    assert probed.value.synchronized and probed.value.source == "timesyncd"


def test_timesyncd_not_synchronized_is_a_finding_not_an_unknown(tmp_path: Path) -> None:
    commands = FakeCommands()
    commands.outputs[NTP_SYNCHRONIZED] = (0, "no\n")
    commands.outputs[TIMESYNC_STATUS] = (1, "")
    commands.installed.add("timedatectl")
    probed = probe_clock(commands.run, commands.which, run_root(tmp_path, systemd=True))
    assert probed.value is not None
    assert (probed.value.synchronized, probed.value.offset_seconds) == (False, None)


def test_chronyd_down_falls_back_and_says_why_when_nothing_answers(tmp_path: Path) -> None:
    commands = FakeCommands()
    commands.outputs[CHRONY] = (1, "506 Cannot talk to daemon\n")
    commands.installed.add("chronyc")
    probed = probe_clock(commands.run, commands.which, run_root(tmp_path, systemd=False))
    assert probed.value is None and "chronyc exited with status 1" in (probed.unknown or "")
    nothing = probe_clock(FakeCommands().run, FakeCommands().which, run_root(tmp_path, False))
    assert nothing.unknown == "neither chrony nor systemd-timesyncd is here to tell"


@pytest.mark.parametrize(
    ("fixture", "returncode", "value", "why"),
    [
        ("smartctl-passed.txt", 0, True, None),
        ("smartctl-scsi-ok.txt", 0, True, None),
        ("smartctl-failed.txt", 8 | 16, False, None),
        ("smartctl-denied.txt", 2, None, "Permission denied"),
        ("smartctl-standby.txt", 2, None, "STANDBY"),
    ],
)
def test_smart_health(fixture: str, returncode: int, value: bool | None, why: str | None) -> None:
    probed = parse_smartctl_health(returncode, (COMMANDS / fixture).read_text())
    assert probed.value is value
    if why:
        assert why in (probed.unknown or "")


def test_smart_only_where_smartctl_is_installed() -> None:
    commands = FakeCommands()
    assert probe_smart(commands.run, commands.which, "sda").unknown == "smartctl is not installed"
    assert commands.calls == []


def test_probes_cache_command_answers_for_their_ttl(tmp_path: Path) -> None:
    commands = FakeCommands()
    commands.answer(FAILED_UNITS, 0, "systemctl-failed.txt")
    ticker = Ticker()
    probes = Probes(
        commands.run, commands.which, run_root(tmp_path, systemd=True), ttl=30, monotonic=ticker
    )
    probes.failed_units()
    ticker.now += 29
    probes.failed_units()
    assert len(commands.calls) == 1
    ticker.now += 2
    probes.failed_units()
    assert len(commands.calls) == 2
