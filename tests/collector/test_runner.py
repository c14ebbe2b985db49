"""``inspect_now`` and ``inspect_bounded`` with fake drivers in virtual time (no waiting).

The helpers here (virtual time, fake drivers, inventories) are shared with the scheduler
tests.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector.driver import Depth, InspectionResult
from collector.runner import Job, inspect_now, plan_jobs
from weibao.clock import FrozenClock
from weibao.errors import AuthError
from weibao.inventory.model import DeviceContext, Inventory
from weibao.observation import Observation, Sample, Source

START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def aio(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop (the project uses no asyncio plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


class VirtualTime:
    """An injected ``sleep`` whose waiters wake in time order as the test advances a clock."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self._waiters: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        when = self.clock.now() + timedelta(seconds=seconds)
        heapq.heappush(self._waiters, (when, next(self._seq), future))
        await future

    @staticmethod
    async def settle() -> None:
        for _ in range(30):
            await asyncio.sleep(0)

    async def advance(self, until: datetime, max_steps: int = 100_000) -> None:
        """Wake every sleeper due by ``until``, in order, letting tasks run in between."""
        for _ in range(max_steps):
            await self.settle()
            while self._waiters and self._waiters[0][2].done():
                heapq.heappop(self._waiters)  # cancelled sleeps
            if not self._waiters or self._waiters[0][0] > until:
                break
            when, _, future = heapq.heappop(self._waiters)
            self.clock.set(max(when, self.clock.now()))
            future.set_result(None)
        else:
            raise AssertionError("virtual time did not settle")
        self.clock.set(max(until, self.clock.now()))
        await self.settle()


class FakeDriver:
    """Healthy unless told: ``slow`` (virtual seconds), ``dead``, ``failing``, ``raising``."""

    name = "snmp"

    def __init__(
        self,
        vt: VirtualTime,
        slow: dict[str, float] | None = None,
        dead: set[str] | None = None,
        failing: set[str] | None = None,
        raising: set[str] | None = None,
        raw: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.vt = vt
        self.raw = raw or {}
        self.slow = slow or {}
        self.dead = dead or set()
        self.failing = failing or set()
        self.raising = raising or set()
        self.calls: list[tuple[str, Depth, datetime]] = []
        self.active = 0
        self.most_active = 0

    async def inspect(self, ctx: DeviceContext, depth: Depth, now: datetime) -> InspectionResult:
        name = ctx.device.name
        self.calls.append((name, depth, now))
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if name in self.dead:
                await asyncio.Event().wait()
            if name in self.slow:
                await self.vt.sleep(self.slow[name])
            if name in self.raising:
                raise RuntimeError("driver bug")
        finally:
            self.active -= 1
        if name in self.failing:
            obs = Observation(device=name, source=Source.snmp, time=now, ok=False, error="auth")
            return InspectionResult(name, self.name, obs, error=AuthError("wrong community"))
        sample = Sample(name="up", value=1.0)
        obs = Observation(device=name, source=Source.snmp, time=now, samples=[sample])
        if name in self.raw:
            return InspectionResult(name, self.name, obs, raw=self.raw[name])
        return InspectionResult(name, self.name, obs)


def device(name: str, **over: Any) -> dict[str, Any]:
    snmp = {"snmp": {"community": "env:COMMUNITY"}}
    return {"name": name, "kind": "switch", "address": "192.0.2.1", "inspect": snmp, **over}


def make_inventory(
    *sites: dict[str, Any], interval: str = "60s", cron: str = "30 2 * * *"
) -> Inventory:
    return Inventory.model_validate(
        {
            "defaults": {"schedule": {"health_interval": interval, "full_cron": cron}},
            "customers": [
                {
                    "name": "Acme",
                    "contracts": [
                        {
                            "id": "C-1",
                            "name": "Acme 2026",
                            "start": "2026-01-01",
                            "end": "2026-12-31",
                            "service_manager": {"name": "Wang Lei"},
                            "sites": list(sites),
                        }
                    ],
                }
            ],
        }
    )


def site(name: str, *names: str, concurrency: int = 4, **over: Any) -> dict[str, Any]:
    return {"name": name, "concurrency": concurrency, "devices": [device(n) for n in names], **over}


def jobs(inv: Inventory, driver: FakeDriver) -> list[Job]:
    return plan_jobs(inv.contexts(), {"snmp": driver})


async def run_now(
    inv: Inventory, driver: FakeDriver, vt: VirtualTime, **kw: Any
) -> list[InspectionResult]:
    task = asyncio.ensure_future(
        inspect_now(jobs(inv, driver), {"snmp": driver}, vt.clock, sleep=vt.sleep, **kw)
    )
    await vt.advance(vt.clock.now() + timedelta(hours=1))
    return await task


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime(FrozenClock(START))


@aio
async def test_a_dead_device_times_out_and_the_others_finish(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "sw1", "dead1", "sw2"))
    driver = FakeDriver(vt, dead={"dead1"})
    results = await run_now(inv, driver, vt)
    assert [r.device for r in results] == ["sw1", "dead1", "sw2"]
    assert [r.failed for r in results] == [False, True, False]
    dead = results[1]
    assert dead.observation.meta["error_kind"] == "timeout"
    assert dead.observation.value("up") == 0.0
    assert "longer than 60s" in (dead.observation.error or "")
    assert driver.active == 0  # the dead inspection was cancelled, not left behind


@aio
async def test_failing_and_raising_drivers_give_failed_results(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "ok1", "bad", "buggy"))
    driver = FakeDriver(vt, failing={"bad"}, raising={"buggy"})
    results = {r.device: r for r in await run_now(inv, driver, vt)}
    assert not results["ok1"].failed
    assert isinstance(results["bad"].error, AuthError)
    assert "internal error" in (results["buggy"].observation.error or "")
    assert results["buggy"].observation.meta["error_kind"] == "protocol"


@aio
async def test_concurrency_is_bounded_per_site_and_overall(vt: VirtualTime) -> None:
    names = [f"a{i}" for i in range(6)]
    inv = make_inventory(site("A", *names, concurrency=2))
    driver = FakeDriver(vt, slow=dict.fromkeys(names, 5.0))
    results = await run_now(inv, driver, vt)
    assert driver.most_active == 2 and all(not r.failed for r in results)

    inv = make_inventory(site("A", "a1", "a2", "a3"), site("B", "b1", "b2", "b3"))
    driver = FakeDriver(vt, slow=dict.fromkeys(["a1", "a2", "a3", "b1", "b2", "b3"], 5.0))
    await run_now(inv, driver, vt, concurrency=3)
    assert driver.most_active == 3


@aio
async def test_a_slow_device_does_not_delay_the_others(vt: VirtualTime) -> None:
    inv = make_inventory(site("HQ", "slow", "fast1", "fast2"))
    driver = FakeDriver(vt, slow={"slow": 50.0})
    finished: dict[str, datetime] = {}
    await run_now(inv, driver, vt, on_done=lambda r: finished.setdefault(r.device, vt.clock.now()))
    assert finished["fast1"] == finished["fast2"] == START
    assert finished["slow"] == START + timedelta(seconds=50)


def test_jobs_come_only_from_methods_with_a_driver() -> None:
    inv = make_inventory(site("HQ", "sw1"))
    agent_only = {"name": "srv1", "kind": "server", "inspect": {"agent": {}}}
    inv2 = make_inventory({"name": "HQ", "devices": [device("sw1"), agent_only]})
    driver = FakeDriver(VirtualTime(FrozenClock(START)))
    assert [j.device for j in plan_jobs(inv2.contexts(), {"snmp": driver})] == ["sw1"]
    assert plan_jobs(inv.contexts(), {}) == []
