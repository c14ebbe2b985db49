"""The scheduler in virtual time: hours of schedule run in milliseconds, nothing waits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from collector.driver import Depth
from collector.runner import Job
from collector.scheduler import Scheduler, jitter_fraction, jitter_offset, next_full, next_health
from collector.sink import ListSink
from tests.collector.test_runner import (
    START,
    FakeDriver,
    VirtualTime,
    aio,
    jobs,
    make_inventory,
    site,
)
from weibao.clock import FrozenClock
from weibao.observation import Observation


async def run_schedule(
    vt: VirtualTime,
    job_list: Sequence[Job],
    driver: FakeDriver,
    minutes: float,
    sink: ListSink | None = None,
    **kw: object,
) -> Scheduler:
    scheduler = Scheduler(
        job_list,
        {"snmp": driver},
        sink or ListSink(),
        vt.clock,
        sleep=vt.sleep,
        **kw,  # type: ignore[arg-type]
    )
    until = vt.clock.now() + timedelta(minutes=minutes)
    task = asyncio.ensure_future(scheduler.run(until=until))
    await vt.advance(until + timedelta(hours=1))
    await task
    return scheduler


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime(FrozenClock(START))


def test_jitter_is_stable_and_spreads_devices() -> None:
    assert jitter_fraction("sw1") == jitter_fraction("sw1")
    fractions = {jitter_fraction(f"sw{i}") for i in range(50)}
    assert len(fractions) == 50 and all(0 <= f < 1 for f in fractions)
    assert min(fractions) < 0.1 and max(fractions) > 0.9


def test_grid_times_are_strictly_after_now() -> None:
    minute, offset = timedelta(minutes=1), timedelta(seconds=7)
    at = datetime(2026, 3, 2, 4, 0, 7, tzinfo=UTC)
    assert next_health(at, minute, offset) == at + minute
    assert next_health(at - timedelta(microseconds=1), minute, offset) == at
    # 03:00 in Shanghai is 19:00 UTC the day before; the offset moves it, not the zone.
    full = next_full(datetime(2026, 3, 2, 18, 0, tzinfo=UTC), "0 3 * * *", "Asia/Shanghai", offset)
    assert full == datetime(2026, 3, 2, 19, 0, 7, tzinfo=UTC)


@aio
async def test_each_device_runs_once_per_interval_at_its_own_offset(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "sw1", "sw2", "sw3"))
    driver = FakeDriver(vt)
    sink = ListSink()
    scheduler = await run_schedule(vt, jobs(inv, driver), driver, 10, sink)
    for name in ("sw1", "sw2", "sw3"):
        starts = [when for dev, _, when in driver.calls if dev == name]
        assert len(starts) == 10
        assert {b - a for a, b in itertools.pairwise(starts)} == {timedelta(minutes=1)}
        offset = (starts[0] - START).total_seconds()
        assert offset == pytest.approx(jitter_fraction(name) * 60, abs=1e-5)
        assert scheduler.stats[(name, "snmp")].runs == 10
    assert len(sink.observations) == 30  # everything delivered, nothing left queued
    assert scheduler.skipped == 0


@aio
async def test_a_run_still_going_is_skipped_and_counted_never_stacked(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "slow", "fast"))
    driver = FakeDriver(vt, slow={"slow": 150.0})  # 2.5 intervals per inspection
    scheduler = await run_schedule(
        vt, jobs(inv, driver), driver, 10, timeout=lambda c, d: timedelta(minutes=5)
    )
    slow, fast = scheduler.stats[("slow", "snmp")], scheduler.stats[("fast", "snmp")]
    assert fast.runs == 10 and fast.skipped_health == 0  # never delayed by its neighbour
    assert slow.runs + slow.skipped_health == 10
    assert slow.skipped_health >= 5 and slow.runs >= 3
    assert driver.most_active <= 2  # the slow device never had two runs at once


@aio
async def test_a_dead_device_times_out_every_interval_without_holding_the_others(
    vt: VirtualTime,
) -> None:
    inv = make_inventory(site("HQ", "dead1", "sw1", concurrency=1))
    driver = FakeDriver(vt, dead={"dead1"})
    timeout = timedelta(seconds=20)
    sink = ListSink()
    scheduler = await run_schedule(
        vt, jobs(inv, driver), driver, 10, sink, timeout=lambda c, d: timeout
    )
    dead, ok = scheduler.stats[("dead1", "snmp")], scheduler.stats[("sw1", "snmp")]
    assert dead.runs == dead.timeouts == dead.failures == 10
    assert ok.runs == 10 and ok.failures == 0
    assert dead.last_ok is False and ok.last_ok is True
    failed = [o for o in sink.observations if o.device == "dead1"]
    assert all(o.meta["error_kind"] == "timeout" and o.value("up") == 0.0 for o in failed)


@aio
async def test_site_concurrency_bounds_the_runs(vt: VirtualTime) -> None:
    names = [f"a{i}" for i in range(6)]
    inv = make_inventory(site("A", *names, concurrency=2), interval="10s")
    driver = FakeDriver(vt, slow=dict.fromkeys(names, 8.0))
    scheduler = await run_schedule(
        vt, jobs(inv, driver), driver, 2, timeout=lambda c, d: timedelta(minutes=1)
    )
    assert driver.most_active == 2
    assert scheduler.skipped > 0  # 6 x 8 s of work per 10 s at 2 at a time cannot keep up


@aio
async def test_full_inspection_follows_cron_in_the_site_time_zone(vt: VirtualTime) -> None:
    # 02:50 in Shanghai; the full inspection is due at 03:00 local, 19:00 UTC.
    vt.clock.set(datetime(2026, 3, 2, 18, 50, tzinfo=UTC))
    inv = make_inventory(site("HQ", "sw1", timezone="Asia/Shanghai"), cron="0 3 * * *")
    driver = FakeDriver(vt)
    await run_schedule(vt, jobs(inv, driver), driver, 20)
    fulls = [when for _, depth, when in driver.calls if depth is Depth.full]
    expected = datetime(2026, 3, 2, 19, 0, tzinfo=UTC) + jitter_offset("sw1", timedelta(minutes=1))
    assert len(fulls) == 1
    assert abs(fulls[0] - expected) < timedelta(microseconds=5)  # float seconds in sleep()
    assert len(driver.calls) == 20  # the full run took that minute's health slot


@aio
async def test_every_observation_says_whether_it_was_a_full_inspection(vt: VirtualTime) -> None:
    vt.clock.set(datetime(2026, 3, 2, 18, 50, tzinfo=UTC))
    inv = make_inventory(site("HQ", "sw1", timezone="Asia/Shanghai"), cron="0 3 * * *")
    driver = FakeDriver(vt)
    sink = ListSink()
    await run_schedule(vt, jobs(inv, driver), driver, 20, sink)
    kinds = [o.meta.get("inspection") for o in sink.observations]
    assert kinds.count("full") == 1  # the daily inspection report lists the day it ran
    assert kinds.count("health") == len(kinds) - 1


@aio
async def test_a_restart_brings_no_burst_of_catch_up_runs(vt: VirtualTime) -> None:
    # Started at noon, long after the 02:30 inspection time and with no history:
    # the first hour holds one health check per device per minute, and no full run.
    inv = make_inventory(site("HQ", "sw1", "sw2"))
    driver = FakeDriver(vt)
    vt.clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    await run_schedule(vt, jobs(inv, driver), driver, 60)
    assert {depth for _, depth, _ in driver.calls} == {Depth.health}
    assert len(driver.calls) == 120
    first_minute = [c for c in driver.calls if c[2] < vt.clock.now().replace(hour=12, minute=1)]
    assert len(first_minute) == 2


@aio
async def test_a_full_run_due_during_a_health_check_is_deferred_not_lost(
    vt: VirtualTime,
) -> None:
    # The interval (25 s) does not divide the cron minute, so a full run falls inside
    # a health check of 20 s.
    inv = make_inventory(site("HQ", "sw1"), interval="25s", cron="0 * * * *")
    driver = FakeDriver(vt, slow={"sw1": 20.0})
    vt.clock.set(datetime(2026, 3, 2, 11, 55, tzinfo=UTC))
    scheduler = await run_schedule(
        vt, jobs(inv, driver), driver, 10, timeout=lambda c, d: timedelta(minutes=1)
    )
    stats = scheduler.stats[("sw1", "snmp")]
    fulls = [when for _, depth, when in driver.calls if depth is Depth.full]
    assert len(fulls) == 1
    if stats.deferred_full:
        assert fulls[0] > datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class FatalSink:
    async def deliver(self, observations: Sequence[Observation]) -> None:
        raise RuntimeError("the desk refused the token")


@aio
async def test_a_sink_that_can_never_deliver_stops_the_scheduler(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "sw1"))
    driver = FakeDriver(vt)
    scheduler = Scheduler(jobs(inv, driver), {"snmp": driver}, FatalSink(), vt.clock, vt.sleep)
    task = asyncio.ensure_future(scheduler.run())
    await vt.advance(START + timedelta(minutes=2))
    assert task.done()
    with pytest.raises(RuntimeError, match="refused the token"):
        task.result()


def lags(sink: ListSink, device: str) -> list[float]:
    found = [o.value("schedule_lag_ratio", source="snmp") for o in sink.observations]
    return [
        v
        for o, v in zip(sink.observations, found, strict=True)
        if o.device == device and v is not None
    ]


@aio
async def test_every_observation_says_how_late_its_inspection_started(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "sw1", "sw2"))
    driver = FakeDriver(vt)
    sink = ListSink()
    await run_schedule(vt, jobs(inv, driver), driver, 5, sink)
    assert len(sink.observations) == 10
    for obs in sink.observations:
        assert obs.value("schedule_lag_seconds", source="snmp") == 0.0  # on time
        assert obs.value("schedule_lag_ratio", source="snmp") == 0.0


@aio
async def test_skipped_runs_count_in_the_lag_of_the_next_one(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "slow", "fast"))
    driver = FakeDriver(vt, slow={"slow": 150.0})  # 2.5 intervals per inspection
    sink = ListSink()
    await run_schedule(
        vt, jobs(inv, driver), driver, 10, sink, timeout=lambda c, d: timedelta(minutes=5)
    )
    assert set(lags(sink, "fast")) == {0.0}
    slow = lags(sink, "slow")
    assert slow[0] == 0.0  # the first run starts on time
    assert all(v >= 2.0 for v in slow[1:]) and len(slow) >= 3  # two runs skipped before each


@aio
async def test_waiting_for_a_concurrency_slot_is_lag(vt: VirtualTime) -> None:
    names = [f"a{i}" for i in range(6)]
    inv = make_inventory(site("A", *names, concurrency=1), interval="10s")
    driver = FakeDriver(vt, slow=dict.fromkeys(names, 4.0))  # 24 s of work per 10 s
    sink = ListSink()
    await run_schedule(
        vt, jobs(inv, driver), driver, 3, sink, timeout=lambda c, d: timedelta(minutes=1)
    )
    ratios = [o.value("schedule_lag_ratio", source="snmp") or 0.0 for o in sink.observations]
    assert max(ratios) >= 1.0  # the site cannot keep up: whole intervals late
    seconds = [o.value("schedule_lag_seconds", source="snmp") or 0.0 for o in sink.observations]
    assert all(s == pytest.approx(r * 10, abs=0.01) for s, r in zip(seconds, ratios, strict=True))


@aio
async def test_what_the_device_said_travels_with_the_observation(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "sw1"))
    driver = FakeDriver(vt, raw={"sw1": {"snmp": '.1.3.6.1.2.1.1.5.0 = STRING: "sw1"'}})
    sink = ListSink()
    await run_schedule(vt, jobs(inv, driver), driver, 2, sink)
    assert sink.observations and all(
        o.raw == {"snmp": '.1.3.6.1.2.1.1.5.0 = STRING: "sw1"'} for o in sink.observations
    )
