"""``weibao collector --traps``: the option, a port that cannot be had, and the wiring
that runs the schedule and the receiver side by side (no desk: a sink in memory)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from tests.collector.conftest import inventory
from tests.collector.test_runner import START, FakeDriver, VirtualTime, aio
from tests.collector.test_traps_receiver import link_down, send, until
from weibao.cli import collector_cmd
from weibao.clock import FrozenClock
from weibao.observation import Observation

app = typer.Typer()
collector_cmd.register(app)
app.command("other")(lambda: None)  # two commands: typer keeps "collector" as a subcommand
runner = CliRunner()

SWITCH = {
    "name": "sw1",
    "kind": "switch",
    "address": "127.0.0.1",
    "inspect": {"snmp": {"community": "env:WB_TEST_TRAP_COMMUNITY"}},
}


@pytest.fixture
def args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    driver = FakeDriver(VirtualTime(FrozenClock(START)))
    monkeypatch.setattr(collector_cmd, "make_drivers", lambda: {"snmp": driver})
    inv = tmp_path / "inventory.yaml"
    inv.write_text(yaml.safe_dump(inventory(SWITCH).model_dump(mode="json", exclude_defaults=True)))
    token = tmp_path / "token"
    token.write_text("wb_test_token_for_the_collector_0001")
    return [
        "collector", "--desk", "http://127.0.0.1:9", "--token-file", str(token),
        "-i", str(inv), "--spool", str(tmp_path / "spool"),
    ]  # fmt: skip


def test_a_bad_listen_address_is_refused(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--traps", "127.0.0.1:trap"])
    assert result.exit_code == 2
    assert "the port must be a number from 1 to 65535" in result.output


def test_a_port_already_taken_stops_the_collector_with_the_reason(args: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = runner.invoke(app, [*args, "--traps", f"127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert f"cannot listen for traps on 127.0.0.1:{port}" in result.output


def test_a_broken_trap_catalog_is_refused_with_file_and_line(
    args: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "acme-traps.yaml"
    bad.write_text("traps:\n  - name: acmeFan\n    oid: 1.3.6.1.4.1.99999.0.1\n    colour: red\n")
    traps = ["--traps", "127.0.0.1:1162", "--trap-catalog", str(bad)]
    result = runner.invoke(app, [*args, *traps])
    assert result.exit_code == 2
    assert f"{bad}:4: traps[acmeFan].colour: unknown key 'colour'" in result.output


class MemorySink:
    def __init__(self, fail: bool = False) -> None:
        self.observations: list[Observation] = []
        self.fail = fail

    async def deliver(self, observations: Sequence[Observation]) -> None:
        if self.fail:
            raise RuntimeError("the desk refused this collector")
        self.observations.extend(observations)


async def nothing_to_poll() -> None:
    return None


async def keep_sending(port: int, done: Callable[[], bool]) -> None:
    """Send a linkDown every 50 ms until ``done``: the receiver binds in the background."""
    for _ in range(100):
        send(port, link_down("c0mm", 4))
        try:
            await until(done, "the receiver", timeout=0.05)
            return
        except AssertionError:
            continue
    raise AssertionError("the receiver never took the trap")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@aio
async def test_traps_keep_flowing_when_there_is_nothing_to_poll(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WB_TEST_TRAP_COMMUNITY", "c0mm")
    sink = MemorySink()
    port = free_udp_port()
    state = tmp_path / "trap-state.json"
    ctxs = inventory(SWITCH).contexts()
    run = asyncio.ensure_future(
        collector_cmd.run_with_traps(nothing_to_poll(), ctxs, sink, ("127.0.0.1", port), state)
    )
    try:
        await keep_sending(port, lambda: bool(sink.observations) or run.done())
        assert not run.done()  # the schedule ended at once; the receiver goes on
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert sink.observations[0].device == "sw1"
    assert state.exists()  # saved when stopping


@aio
async def test_a_sink_that_refuses_the_collector_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_TRAP_COMMUNITY", "c0mm")
    port = free_udp_port()
    ctxs = inventory(SWITCH).contexts()
    run = asyncio.ensure_future(
        collector_cmd.run_with_traps(
            asyncio.sleep(3600), ctxs, MemorySink(fail=True), ("127.0.0.1", port), None
        )
    )
    await keep_sending(port, run.done)
    with pytest.raises(RuntimeError, match="refused this collector"):
        await run


def test_help_documents_the_option() -> None:
    result = runner.invoke(app, ["collector", "--help"])
    assert "--traps" in result.output and "CAP_NET_BIND_SERVICE" in result.output
