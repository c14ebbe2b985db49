"""The collector's schedule: per device a health check every interval, a full one on cron.

Each device has its own loop, so a slow or dead device never delays another; only the
semaphores (overall and per site) are shared. Times are computed from *now* on every
wake-up, on a grid fixed by the device name:

- health checks fall on ``epoch + offset + k * interval``, where ``offset`` is a hash of
  the name within the interval: starts are spread, and the same after a restart;
- full inspections fall on the site-local cron times plus the same offset; a restart
  computes the next cron time from now, so missed nights are not caught up in a burst.

A run still going (or still waiting for a slot) when its device is due again is never
stacked: the due run is skipped and counted. A full inspection that meets a running
health check is deferred to the device's next slot instead (counted too), so the daily
inspection is not lost to a check that happened to overlap it.

Falling behind is measured, not only logged: every observation the schedule produces
carries ``schedule_lag_seconds`` and ``schedule_lag_ratio`` (labelled with the source),
how long after its due time the inspection started, counting the runs skipped before
it. A ratio of 1 is one whole interval late, i.e. one inspection missed; the
``collector_behind`` rule turns a lasting backlog into an operations ticket.

Clock and ``sleep`` are injected; tests run hours of schedule in virtual time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from collector.driver import Depth, Driver, InspectionResult
from collector.runner import Job, Limits, Sleep, TimeoutPolicy, default_timeout, inspect_bounded
from collector.sink import Sink
from weibao.clock import Clock
from weibao.observation import Observation, Sample, bounded_raw

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 500  # observations per delivery at most


def jitter_fraction(device: str) -> float:
    """A stable fraction in [0, 1) from the name (not ``hash()``: that changes per run)."""
    digest = hashlib.sha256(device.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def jitter_offset(device: str, interval: timedelta) -> timedelta:
    """Where in each interval this device starts."""
    steps = interval // timedelta(microseconds=1)
    return timedelta(microseconds=int(jitter_fraction(device) * steps))


def next_health(now: datetime, interval: timedelta, offset: timedelta) -> datetime:
    """The first grid time strictly after ``now``."""
    k = (now - EPOCH - offset) // interval
    return EPOCH + offset + (k + 1) * interval


def next_full(now: datetime, cron: str, timezone: str, offset: timedelta) -> datetime:
    """The next cron time (site-local) plus ``offset``, strictly after ``now``, in UTC."""
    local = (now - offset).astimezone(ZoneInfo(timezone))
    following: datetime = croniter(cron, local).get_next(datetime)
    return following.astimezone(UTC) + offset


@dataclass
class DeviceStats:
    """Per job, for metrics: what ran, what was skipped, how the last run went."""

    runs: int = 0
    failures: int = 0
    timeouts: int = 0
    skipped_health: int = 0
    deferred_full: int = 0
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_depth: Depth | None = None
    last_ok: bool | None = None


def outgoing(
    result: InspectionResult, lag: timedelta, interval: timedelta, depth: Depth = Depth.health
) -> Observation:
    """What is sent for one run: the observation, with how late its inspection started
    (see the module docstring), what the device said verbatim (``raw``, for the
    ticket's snapshot; ``model_copy`` skips validation, so it is bounded here) and
    ``meta.inspection`` (``full`` or ``health``, as the agent says it: the inspection
    report lists the days a full inspection ran)."""
    labels = {"source": result.driver}
    seconds = lag.total_seconds()
    samples = [
        *result.observation.samples,
        Sample(name="schedule_lag_seconds", labels=labels, value=round(seconds, 3)),
        Sample(
            name="schedule_lag_ratio",
            labels=labels,
            value=round(seconds / interval.total_seconds(), 4),
        ),
    ]
    meta = {**result.observation.meta, "inspection": depth.value}
    update: dict[str, object] = {"samples": samples, "meta": meta}
    if result.raw:
        update["raw"] = bounded_raw(result.raw)
    return result.observation.model_copy(update=update)


class Scheduler:
    """Runs jobs on their schedules until cancelled (or until ``until`` in tests)."""

    def __init__(
        self,
        jobs: Sequence[Job],
        drivers: Mapping[str, Driver],
        sink: Sink,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        concurrency: int = 64,
        timeout: TimeoutPolicy = default_timeout,
    ) -> None:
        self.jobs = list(jobs)
        self.drivers = drivers
        self.sink = sink
        self.clock = clock
        self.sleep = sleep
        self.timeout = timeout
        self.concurrency = concurrency
        self.stats: dict[tuple[str, str], DeviceStats] = {
            (j.device, j.driver): DeviceStats() for j in self.jobs
        }
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._outbox: asyncio.Queue[Observation | None] = asyncio.Queue()

    @property
    def skipped(self) -> int:
        return sum(s.skipped_health for s in self.stats.values())

    async def run(self, until: datetime | None = None) -> None:
        """Schedule every job; returns at ``until`` (tests) or runs until cancelled.

        Raises what the sink raises: a desk that refuses the collector stops it.
        """
        limits = Limits(self.concurrency)
        loops = asyncio.gather(*(self._device_loop(j, limits, until) for j in self.jobs))
        delivery = asyncio.ensure_future(self._deliver_until_closed())
        try:
            waiting: list[asyncio.Future[Any]] = [loops, delivery]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if delivery.done():
                delivery.result()  # the sink's fatal error stops the collector
            loops.result()  # a bug in a loop surfaces here
            if self._running:
                await asyncio.gather(*self._running.values())
            self._outbox.put_nowait(None)  # deliver what is left, then stop
            await delivery
        finally:
            tasks: list[asyncio.Future[Any]] = [loops, delivery, *self._running.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _device_loop(self, job: Job, limits: Limits, until: datetime | None) -> None:
        key = (job.device, job.driver)
        schedule = job.ctx.schedule
        interval = schedule.health_interval
        offset = jitter_offset(job.device, interval)
        now = self.clock.now()
        health_at = next_health(now, interval, offset)
        full_at = next_full(now, schedule.full_cron, job.ctx.site.timezone, offset)
        full_pending = False
        missed = 0  # runs skipped since the last one that started
        while until is None or min(health_at, full_at) <= until:
            due = min(health_at, full_at)
            await self.sleep(max(0.0, (due - self.clock.now()).total_seconds()))
            now = self.clock.now()
            if now < due:
                continue  # woke early (a real clock's jitter): sleep the rest
            if now >= full_at:
                full_pending = True
                full_at = next_full(now, schedule.full_cron, job.ctx.site.timezone, offset)
            if now >= health_at:
                health_at = next_health(now, interval, offset)
            running = self._running.get(key)
            if running is not None and not running.done():
                if full_pending:
                    self.stats[key].deferred_full += 1
                else:
                    self.stats[key].skipped_health += 1
                    missed += 1
                log.warning(
                    "%s: %s run still going when due again; skipped", job.device, job.driver
                )
                continue
            depth = Depth.full if full_pending else Depth.health
            full_pending = False
            owed = due - missed * interval  # the earliest due time not yet served
            missed = 0
            self._running[key] = asyncio.ensure_future(self._run(job, depth, limits, owed))

    async def _run(self, job: Job, depth: Depth, limits: Limits, due: datetime) -> None:
        key = (job.device, job.driver)
        stats = self.stats[key]
        async with limits.site(job.ctx), limits.overall:
            now = self.clock.now()
            lag = max(timedelta(0), now - due)
            stats.last_start, stats.last_depth = now, depth
            result = await inspect_bounded(
                self.drivers[job.driver],
                job.ctx,
                depth,
                now,
                self.timeout(job.ctx, depth),
                self.sleep,
            )
        self._record(stats, result)
        interval = job.ctx.schedule.health_interval
        self._outbox.put_nowait(outgoing(result, lag, interval, depth))

    def _record(self, stats: DeviceStats, result: InspectionResult) -> None:
        stats.runs += 1
        stats.last_end = self.clock.now()
        stats.last_ok = not result.failed
        if result.failed:
            stats.failures += 1
            if result.observation.meta.get("error_kind") == "timeout":
                stats.timeouts += 1

    async def _deliver_until_closed(self) -> None:
        """One delivery at a time, batching what queued up meanwhile; None ends it."""
        closed = False
        while not closed:
            batch: list[Observation] = []
            item = await self._outbox.get()
            while True:
                if item is None:
                    closed = True
                    break
                batch.append(item)
                if len(batch) >= BATCH or self._outbox.empty():
                    break
                item = self._outbox.get_nowait()
            if batch:
                await self.sink.deliver(batch)
