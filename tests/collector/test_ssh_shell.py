"""Huawei VRP inspections over an interactive SSH shell.

The cleaning functions run on realistic terminal text (no sockets). The session runs over
real SSH against :mod:`tests.collector.vrp_shell_peer`, a paramiko server that behaves
like a VRP CLI: a **simulator**, because no real VRP device can run here. Its answers are
the saved outputs in ``fixtures/ssh/vrp/``, so a shell inspection must give exactly the
readings the parsers give on those files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.driver import Depth, InspectionResult
from collector.ssh import shell
from collector.ssh.driver import SshDriver
from collector.ssh.profiles import PROFILES
from collector.ssh.shell import (
    clean_output,
    command_error,
    command_output,
    pager_waiting,
    prompt_name,
    render_terminal,
)
from tests.collector.vrp_shell_peer import VrpBehaviour, VrpShellPeer, running
from weibao.errors import Timeout
from weibao.inventory.model import SshInspection

NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "ssh" / "vrp"
VRP = PROFILES["huawei-vrp"]
ERASE_42 = "\x1b[42D" + " " * 42 + "\x1b[42D"
ERASE_16 = "\x1b[16D" + " " * 16 + "\x1b[16D"


def fixture(key: str) -> str:
    return (FIXTURES / f"{key}.txt").read_text(encoding="utf-8")


def device_outputs() -> dict[str, str]:
    """What the simulated switch answers: the saved output of every profile command."""
    return {c.line: fixture(c.key) for c in VRP.commands}


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# ---------------------------------------------------------------- cleaning, no sockets


def test_crlf_and_colour_codes_are_removed_and_trailing_blanks_kept() -> None:
    raw = "Slot Sub  Type   Role  \r\n\x1b[1;32mNormal\x1b[0m   Master\r\n\x1b[?25h"
    assert render_terminal(raw) == "Slot Sub  Type   Role  \nNormal   Master\n"


@pytest.mark.parametrize(
    "erase",
    [ERASE_42, ERASE_16, "\b" * 16 + " " * 16 + "\b" * 16],
    ids=["ESC[42D (VRP 5.1x)", "ESC[16D (older VRP)", "backspaces"],
)
def test_the_pager_and_its_erase_sequence_vanish(erase: str) -> None:
    raw = (
        "GigabitEthernet0/0/1        up    up        0.31%  0.12%          0          0\r\n"
        f"  ---- More ----{erase}GigabitEthernet0/0/2        down  down         0%     0%"
        "          0          0\r\n"
        f"  ---- More ----{erase}NULL0\r\n"
    )
    assert clean_output(raw) == (
        "GigabitEthernet0/0/1        up    up        0.31%  0.12%          0          0\n"
        "GigabitEthernet0/0/2        down  down         0%     0%          0          0\n"
        "NULL0\n"
    )


def test_a_pager_the_device_does_not_erase_leaves_no_line() -> None:
    assert clean_output("#\r\nsysname SW\r\n  ---- More ----\r\n vlan batch 10\r\n") == (
        "#\nsysname SW\n vlan batch 10\n"
    )


def test_huawei_space_and_cursor_left_in_a_long_echo() -> None:
    # VRP prints a space and ESC[1D when the typed line reaches the terminal's edge.
    assert render_terminal("display interface bri \x1b[1Def\r\n") == "display interface brief\n"


def test_pager_waiting_only_at_the_end() -> None:
    assert pager_waiting("Vlanif1  up  up\r\n  ---- More ----")
    assert not pager_waiting("  ---- More ----" + ERASE_42 + "NULL0")


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("<S5720-28X-SI>", "S5720-28X-SI"),  # S-series switch, user view
        ("[S5720-28X-SI]", "S5720-28X-SI"),  # system view
        ("<AR2220-HZ-01>", "AR2220-HZ-01"),  # AR router
        ("<CE6850-CORE>", "CE6850-CORE"),  # CE switch, user view
        ("[~CE6850-CORE]", "CE6850-CORE"),  # CE system view (two-stage commit)
        ("[*CE6850-CORE]", "CE6850-CORE"),  # CE, uncommitted changes
        ("HRP_M<USG6550-A>", "USG6550-A"),  # firewall pair, master
        ("<HUAWEI> ", "HUAWEI"),
        ("<HUAWEI>display cpu-usage", None),  # a prompt with typed text is an echo
        ("Change now? [Y/N]:", None),
        ("  ---- More ----", None),
        ("[1] 2026-11-21 10:20:31 link down", None),
        ("", None),
    ],
)
def test_prompts_of_each_product_line(line: str, name: str | None) -> None:
    assert prompt_name(line) == name


def test_command_output_is_cut_between_its_echo_and_the_next_prompt() -> None:
    raw = (
        "\r\n<HZ-ACC-SW01>display memory-usage\r\n"
        + crlf(fixture("memory_usage"))
        + "<HZ-ACC-SW01>"
    )
    assert command_output(clean_output(raw), "display memory-usage") == fixture("memory_usage")


def test_a_device_error_is_recognised_under_its_caret() -> None:
    raw = (
        "display temperature all\r\n"
        "                              ^\r\n"
        "Error: Unrecognized command found at '^' position.\r\n"
        "<AR2220-HZ-01>"
    )
    text = command_output(clean_output(raw), "display temperature all")
    assert command_error(text) == "Error: Unrecognized command found at '^' position."
    assert command_error("Error:Too many parameters found at '^' position.\n") is not None


def test_error_words_inside_real_output_are_not_a_failure() -> None:
    assert command_error(fixture("interface_brief")) is None  # "inErrors" column
    assert command_error("Info: The configuration takes effect on the current user.\n") is None
    assert command_error("") is None


# ---------------------------------------------------------------- over SSH, simulator


def settings(peer: VrpShellPeer, **over: Any) -> SshInspection:
    data: dict[str, Any] = {
        "user": peer.user,
        "password": "env:VRP_PASSWORD",
        "host_key": peer.fingerprint,
        "port": peer.port,
        "os": "huawei-vrp",
        "timeout": "2s",
    }
    data.update(over)
    return SshInspection.model_validate(data)


def inspect(peer: VrpShellPeer, budget: float = 10, **over: Any) -> InspectionResult:
    async def run() -> InspectionResult:
        driver = SshDriver(max_threads=4, environ={"VRP_PASSWORD": peer.password})
        try:
            ssh = settings(peer, **over)
            return await driver.inspect_target("sw", "127.0.0.1", ssh, Depth.full, NOW, budget)
        finally:
            driver.close()

    return asyncio.run(run())


def expected_samples() -> list[tuple[str, dict[str, str], float]]:
    """What the parsers read from the saved outputs, in profile order, after ``up``."""
    expected: list[tuple[str, dict[str, str], float]] = [("up", {}, 1.0)]
    for command in VRP.for_depth(Depth.full):
        reading = command.parse_output(fixture(command.key), NOW)
        expected += [(s.name, s.labels, s.value) for s in reading.samples]
    return expected


def samples(result: InspectionResult) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for s in result.observation.samples]


def rstripped(text: str) -> list[str]:
    return [line.rstrip() for line in text.split("\n")]


@pytest.fixture
def switch() -> Iterator[VrpShellPeer]:
    with running(VrpBehaviour(outputs=device_outputs())) as peer:
        yield peer


def test_full_inspection_gives_the_parsers_readings(switch: VrpShellPeer) -> None:
    result = inspect(switch)
    assert not result.failed, result.observation.error
    assert samples(result) == expected_samples()
    assert len(samples(result)) > 20  # fans, PSUs, sensors, nine interfaces
    meta = result.observation.meta
    assert meta["model"] == "S5720-28X-SI-AC" and "unavailable" not in meta
    # The parsers got the very text of the saved files: no echo, prompt, CR or banner.
    for command in VRP.commands:
        assert result.raw[command.key] == fixture(command.key), command.key
    # One shell with a terminal, paging off, the profile's read-only commands, quit.
    assert switch.received == [
        "screen-length 0 temporary",
        *[c.line for c in VRP.commands],
        "quit",
    ]
    assert switch.pty == ("vt100", 511)
    assert switch.pagers_shown == 0


@pytest.mark.parametrize("screen_length", ["unknown", "ignore"])
def test_the_pager_is_answered_when_paging_stays_on(screen_length: Any) -> None:
    behaviour = VrpBehaviour(outputs=device_outputs(), screen_length=screen_length, page_lines=4)
    with running(behaviour) as peer:
        result = inspect(peer)
    assert not result.failed, result.observation.error
    assert peer.pagers_shown >= 8  # interface brief alone is 21 lines: five pages
    assert samples(result) == expected_samples()
    for command in VRP.commands:
        # A line drawn over an erased pager loses its trailing blanks, nothing else.
        assert rstripped(result.raw[command.key]) == rstripped(fixture(command.key))


def test_an_unrecognized_command_fails_alone() -> None:
    outputs = device_outputs()
    del outputs["display temperature all"]  # e.g. an AR router that has no such command
    with running(VrpBehaviour(sysname="AR2220-HZ-01", outputs=outputs)) as peer:
        result = inspect(peer)
    obs = result.observation
    assert not result.failed and obs.value("up") == 1
    assert obs.values("temperature_celsius") == []  # unknown, not 0
    assert obs.value("cpu_usage_ratio") == pytest.approx(0.17)
    assert obs.value("fan_ok", fan="0/2") == 0.0
    assert (
        "temperature (exit 1: Error: Unrecognized command found at '^' position.)"
        in (obs.meta["unavailable"])
    )
    assert "Error: Unrecognized command" in result.raw["temperature"]
    assert peer.received[-1] == "quit"  # the session went on to the end


def test_a_slow_prompt_is_waited_for() -> None:
    with running(VrpBehaviour(outputs=device_outputs(), prompt_delay=0.5)) as peer:
        result = inspect(peer)
    assert not result.failed, result.observation.error
    assert samples(result) == expected_samples()


def test_a_device_that_prompts_only_after_enter_gets_one_empty_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shell, "NUDGE_AFTER", 0.2)
    with running(VrpBehaviour(outputs=device_outputs(), prompt_on_enter=True)) as peer:
        result = inspect(peer)
    assert not result.failed, result.observation.error
    assert peer.received[:2] == ["", "screen-length 0 temporary"]
    assert samples(result) == expected_samples()


def test_the_initial_password_question_is_answered_no() -> None:
    with running(VrpBehaviour(outputs=device_outputs(), ask_password_change=True)) as peer:
        result = inspect(peer)
    assert not result.failed, result.observation.error
    assert peer.received[0] == "N"  # the password stays as it is
    assert samples(result) == expected_samples()


def test_a_device_that_never_prompts_times_out_and_others_are_unaffected() -> None:
    async def run(
        dead: VrpShellPeer, good: VrpShellPeer
    ) -> tuple[list[InspectionResult], dict[str, float]]:
        driver = SshDriver(max_threads=8, environ={"VRP_PASSWORD": good.password})
        started = time.monotonic()
        done: dict[str, float] = {}

        async def one(peer: VrpShellPeer, name: str, budget: float) -> InspectionResult:
            ssh = settings(peer, timeout="3s")
            result = await driver.inspect_target(name, "127.0.0.1", ssh, Depth.full, NOW, budget)
            done[name] = time.monotonic() - started
            return result

        try:
            results = await asyncio.gather(
                one(dead, "dead", 8.0), *(one(good, f"good{i}", 10.0) for i in range(4))
            )
        finally:
            driver.close()
        return list(results), done

    with (
        running(VrpBehaviour(prompt=False)) as dead,
        running(VrpBehaviour(outputs=device_outputs())) as good,
    ):
        results, done = asyncio.run(run(dead, good))
    failed = results[0]
    assert isinstance(failed.error, Timeout)
    assert failed.observation.value("up") == 0
    assert failed.observation.meta["error_kind"] == "timeout"
    error = failed.observation.error or ""
    # The prompt wait is a connection step: bounded by timeout (3 s), not the budget.
    assert "no CLI prompt" in error and "within 3.0s" in error
    assert "The current login time is" in error  # the last thing the device showed
    for result in results[1:]:
        assert not result.failed, result.observation.error
        assert samples(result) == expected_samples()
    # Order, not wall time: all four good switches were done before the dead one.
    assert max(done[f"good{i}"] for i in range(4)) < done["dead"]


def test_the_budget_covers_the_whole_shell_session() -> None:
    behaviour = VrpBehaviour(outputs=device_outputs(), hang_on=frozenset({"display fan"}))
    with running(behaviour) as peer:
        started = time.monotonic()
        result = inspect(peer, budget=1.0, timeout="5s")
        elapsed = time.monotonic() - started
    assert isinstance(result.error, Timeout)
    assert "fan" in (result.observation.error or "")
    assert result.observation.value("up") == 0
    assert elapsed < 4.5  # the 1 s budget ended it, not the 5 s command timeout
