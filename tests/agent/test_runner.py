"""The runner against an in-process desk: order kept, nothing lost, nothing blocks."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agent.runner import AgentRunner
from weibao.delivery.push import Failure, PushClient, PushError
from weibao.delivery.spool import Spool
from weibao.observation import Observation, Sample

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


class FakeInspector:
    def __init__(self) -> None:
        self.made: list[Observation] = []
        self.fulls: list[bool] = []
        self.primed = 0
        self.poison_next = False

    def prime(self) -> None:
        self.primed += 1

    def inspect(self, full: bool = False) -> Observation:
        self.fulls.append(full)
        device = "poison" if self.poison_next else "d"
        self.poison_next = False
        self.made.append(
            Observation(
                device=device,
                source="agent",
                time=START + timedelta(minutes=len(self.made)),
                samples=[Sample(name="up", value=1)],
            )
        )
        return self.made[-1]


class FlakyDesk:
    """Down until told otherwise; stores ids once; refuses the device "poison" as 422."""

    def __init__(self) -> None:
        self.up = False
        self.status: int | None = None
        self.ids: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("refused", request=request)
        if self.status is not None:
            return httpx.Response(self.status, json={"detail": "no"})
        batch = json.loads(request.content)
        if any(o["device"] == "poison" for o in batch):
            return httpx.Response(422, json={"detail": "device: poison"})
        fresh = [o["id"] for o in batch if o["id"] not in self.ids]
        self.ids.extend(fresh)
        return httpx.Response(
            200, json={"accepted": len(fresh), "duplicates": len(batch) - len(fresh)}
        )


def runner_for(desk: FlakyDesk, tmp_path: Path) -> tuple[AgentRunner, FakeInspector, Spool]:
    inspector = FakeInspector()
    spool = Spool(tmp_path / "spool")
    client = PushClient("http://desk.test", "t", transport=httpx.MockTransport(desk.handler))
    return AgentRunner(inspector, client, spool, wall_time=lambda: 1e9), inspector, spool


def test_spools_while_the_desk_is_down_and_replays_in_order(tmp_path: Path) -> None:
    desk = FlakyDesk()
    runner, inspector, spool = runner_for(desk, tmp_path)
    for _ in range(4):
        assert runner.run_once() is False
    assert desk.ids == [] and spool.batches == 4
    assert runner.stats.push_failures == 4
    desk.up = True
    assert runner.run_once() is True
    assert desk.ids == [o.id for o in inspector.made]
    assert spool.batches == 0
    assert runner.stats.pushed_observations == 5 and runner.stats.last_push_success == 1e9


def test_a_rejected_batch_is_set_aside_and_does_not_block_the_rest(tmp_path: Path) -> None:
    desk = FlakyDesk()
    runner, inspector, spool = runner_for(desk, tmp_path)
    runner.run_once()
    inspector.poison_next = True
    runner.run_once()
    runner.run_once()
    desk.up = True
    assert runner.run_once() is True
    good = [o.id for o in inspector.made if o.device != "poison"]
    assert desk.ids == good
    assert spool.rejected == 1 and spool.batches == 0
    assert len(list((spool.directory / "rejected").glob("*.json"))) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_desk_refusing_the_agent_stops_it_and_keeps_the_batch(
    tmp_path: Path, status: int
) -> None:
    desk = FlakyDesk()
    desk.up, desk.status = True, status
    runner, _, spool = runner_for(desk, tmp_path)
    with pytest.raises(PushError) as err:
        runner.run_once()
    assert err.value.kind is Failure.fatal
    assert spool.batches == 1  # kept for when the token is fixed


def test_run_forever_primes_starts_full_and_stops_when_told(tmp_path: Path) -> None:
    desk = FlakyDesk()
    desk.up = True
    runner, inspector, _ = runner_for(desk, tmp_path)
    stop = threading.Event()

    original = inspector.inspect

    def inspect(full: bool = False) -> Observation:
        if len(inspector.made) == 2:
            stop.set()
        return original(full)

    inspector.inspect = inspect  # type: ignore[method-assign]
    thread = threading.Thread(target=runner.run_forever, args=(0.01, stop, 3600.0))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert inspector.primed == 1
    assert inspector.fulls == [True, False, False]
    assert len(desk.ids) == 3


def test_a_long_backlog_is_sent_within_a_time_budget_per_round(tmp_path: Path) -> None:
    desk = FlakyDesk()
    inspector = FakeInspector()
    spool = Spool(tmp_path / "spool")
    clock = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        clock[0] += 1.0  # each push takes a second
        return desk.handler(request)

    client = PushClient("http://desk.test", "t", transport=httpx.MockTransport(handler))
    runner = AgentRunner(inspector, client, spool, monotonic=lambda: clock[0])
    for _ in range(6):
        runner.run_once()
    desk.up = True
    assert runner.run_once(budget=2.5) is False  # three batches went, four wait
    assert len(desk.ids) == 3 and spool.batches == 4
    assert runner.flush() is True
    assert desk.ids == [o.id for o in inspector.made]


def test_a_spool_that_cannot_be_written_does_not_stop_the_pushes(tmp_path: Path) -> None:
    desk = FlakyDesk()
    desk.up = True
    runner, inspector, spool = runner_for(desk, tmp_path)

    def disk_full(batch: list[Observation]) -> None:
        raise OSError(28, "No space left on device")

    spool.put = disk_full  # type: ignore[assignment,method-assign]
    assert runner.run_once() is True
    assert desk.ids == [inspector.made[0].id]
    desk.up = False
    assert runner.run_once() is False
    assert spool.dropped == 1
