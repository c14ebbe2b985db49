"""Over real HTTP: stop the desk, let the agent run, restart the desk; every observation
arrives once, in order. The desk is ``fake_desk.py`` (the real desk's contract) in its
own process, killed and restarted on the same loopback port."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.identity import Identity
from agent.inspect import Inspector
from agent.runner import AgentRunner
from agent.service import AgentConfig, DeskRefused, DeskUnreachable, run_agent
from tests.agent.conftest import healthy_commands, make_host
from weibao.clock import FrozenClock
from weibao.delivery.push import PushClient
from weibao.delivery.spool import Spool

FAKE_DESK = Path(__file__).with_name("fake_desk.py")
TOKEN = "wb_agent_delivery_test_0123456789"
START_TIMEOUT = 15.0


class DeskProcess:
    def __init__(self, directory: Path) -> None:
        self.store = directory / "desk.jsonl"
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(FAKE_DESK), str(self.store), str(self.port), TOKEN, *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.proc = proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("listening "), f"the fake desk did not start: {line!r}"
        self.port = int(line.split()[1])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(10)
            assert self.proc.stdout is not None
            self.proc.stdout.close()

    def wait_exit(self) -> None:
        assert self.proc is not None
        self.proc.wait(10)
        self.stop()

    def lines(self, suffix: str = "") -> list[dict[str, object]]:
        path = self.store.with_name(self.store.name + suffix)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.fixture
def clients() -> Iterator[list[PushClient]]:
    made: list[PushClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DeskProcess]:
    process = DeskProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def make_runner(
    tmp_path: Path, url: str, clients: list[PushClient]
) -> tuple[AgentRunner, list[str], Spool]:
    host = make_host(tmp_path, commands=healthy_commands())
    inspector = Inspector(
        "hq-db-01",
        host,
        FrozenClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC)),
        lambda: Identity("hq-db-01", "0f3c9a1e2b4d4c6e8a0b1c2d3e4f5a6b", None),
    )
    made: list[str] = []
    original = inspector.inspect

    def inspect(full: bool = False):  # type: ignore[no-untyped-def]
        observation = original(full)
        made.append(observation["id"])
        return observation

    inspector.inspect = inspect  # type: ignore[method-assign]
    spool = Spool(tmp_path / "spool")
    client = PushClient(url, TOKEN, timeout=5)
    clients.append(client)
    return AgentRunner(inspector, client, spool), made, spool


def test_stop_the_desk_let_the_agent_run_restart_it_every_observation_arrives_once(
    tmp_path: Path, desk: DeskProcess, clients: list[PushClient]
) -> None:
    runner, made, spool = make_runner(tmp_path, desk.url, clients)
    for _ in range(3):
        assert runner.run_once() is True
    desk.stop()
    for _ in range(5):
        assert runner.run_once() is False
    assert spool.batches == 5
    desk.start()  # same port, same store
    assert runner.run_once() is True
    stored = [o["id"] for o in desk.lines()]
    assert stored == made and len(made) == 9
    assert desk.lines(".dups") == []
    assert spool.batches == 0
    assert all(o["meta"]["machine_id"] for o in desk.lines())  # type: ignore[index]


def test_an_answer_lost_on_the_way_back_is_resent_and_stored_once(
    tmp_path: Path, desk: DeskProcess, clients: list[PushClient]
) -> None:
    desk.stop()
    desk.start("--die-after-storing", "2")
    runner, made, spool = make_runner(tmp_path, desk.url, clients)
    assert runner.run_once() is True
    assert runner.run_once() is False  # stored by the desk, but the answer never came
    desk.wait_exit()
    desk.start()
    assert runner.run_once() is True
    assert [o["id"] for o in desk.lines()] == made
    assert [o["id"] for o in desk.lines(".dups")] == [made[1]]
    assert spool.batches == 0


def config(tmp_path: Path, url: str, token: str = TOKEN) -> AgentConfig:
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    return AgentConfig(
        device="hq-db-01",
        desk=url,
        token_file=token_file,
        listen=None,
        state_dir=tmp_path / "state",
        once=True,
    )


def test_once_pushes_one_full_inspection(tmp_path: Path, desk: DeskProcess) -> None:
    host = make_host(tmp_path, commands=healthy_commands())
    run_agent(config(tmp_path, desk.url), threading.Event(), host=host)
    [stored] = desk.lines()
    assert stored["device"] == "hq-db-01"
    assert stored["meta"]["inspection"] == "full"  # type: ignore[index]
    assert (tmp_path / "state" / "boot_id").exists()


def test_once_with_a_wrong_token_is_refused_with_exit_3(tmp_path: Path, desk: DeskProcess) -> None:
    host = make_host(tmp_path)
    with pytest.raises(DeskRefused, match="refused the token") as err:
        run_agent(config(tmp_path, desk.url, token="wb_wrong"), threading.Event(), host=host)
    assert err.value.exit_code == 3


def test_once_with_the_desk_away_keeps_the_inspection_and_exits_1(
    tmp_path: Path, desk: DeskProcess
) -> None:
    desk.stop()
    host = make_host(tmp_path)
    started = time.monotonic()
    with pytest.raises(DeskUnreachable, match="stays spooled") as err:
        run_agent(config(tmp_path, desk.url), threading.Event(), host=host)
    assert err.value.exit_code == 1
    assert Spool(tmp_path / "state" / "spool").batches == 1
    assert time.monotonic() - started < 30
