"""The spool keeps every batch across a desk outage and gives them back in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from agent.push import PushClient
from agent.runner import AgentRunner
from agent.spool import Spool
from weibao.clock import FrozenClock
from weibao.observation import Observation, Sample

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def make(i: int) -> Observation:
    return Observation(
        device="d",
        source="agent",
        time=START + timedelta(minutes=i),
        samples=[Sample(name="up", value=1)],
    )


def test_batches_come_back_oldest_first_and_survive_a_new_spool_object(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for i in range(3):
        spool.put([make(i)])
    reopened = Spool(tmp_path)
    times = [batch[0].time for _, batch in reopened.pending()]
    assert times == [START + timedelta(minutes=i) for i in range(3)]
    assert not list(tmp_path.glob("*.tmp"))


def test_full_spool_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_batches=2)
    for i in range(5):
        spool.put([make(i)])
    assert spool.dropped == 3
    kept = [batch[0].time.minute for _, batch in spool.pending()]
    assert kept == [3, 4]


class FlakyDesk:
    """An in-process desk that is down until told otherwise and stores ids once."""

    def __init__(self) -> None:
        self.up = False
        self.ids: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("refused", request=request)
        import json

        fresh = [o["id"] for o in json.loads(request.content) if o["id"] not in self.ids]
        self.ids.extend(fresh)
        return httpx.Response(200, json={"accepted": len(fresh), "duplicates": 0})


def test_runner_spools_while_the_desk_is_down_and_replays_in_order(tmp_path: Path) -> None:
    desk = FlakyDesk()
    clock = FrozenClock(START)
    made: list[Observation] = []

    def inspect() -> Observation:
        made.append(make(len(made)))
        return made[-1]

    client = PushClient("http://desk.test", "t", transport=httpx.MockTransport(desk.handler))
    runner = AgentRunner(inspect, client, Spool(tmp_path), clock)
    for _ in range(4):
        runner.run_once()
    assert desk.ids == [] and len(Spool(tmp_path)) == 4
    desk.up = True
    runner.run_once()
    assert desk.ids == [o.id for o in made]
    assert len(Spool(tmp_path)) == 0
