"""Inspect devices now, with bounded concurrency and a time limit per device.

Shared by ``weibao inspect`` (one pass over the chosen devices) and the scheduler (one
device at a time): :func:`inspect_bounded` is the one place where a device's whole
inspection is cut off at its timeout, and where an escaped exception or a hang becomes a
failed :class:`InspectionResult`, so one device never stops or delays the others.

``sleep`` is injected: the timeout races the driver against ``sleep(timeout)``, so tests
drive time with a virtual clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from collector.driver import Depth, Driver, InspectionResult, failed_result
from weibao.clock import Clock
from weibao.errors import InspectionError, ProtocolError, Timeout
from weibao.inventory.model import DeviceContext
from weibao.observation import Source

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
TimeoutPolicy = Callable[[DeviceContext, Depth], timedelta]

FULL_TIMEOUT = timedelta(minutes=20)  # above the SNMP driver's own 15 min full budget


def default_timeout(ctx: DeviceContext, depth: Depth) -> timedelta:
    """The whole health check must end before the next is due; a full one gets 20 min."""
    return FULL_TIMEOUT if depth is Depth.full else ctx.schedule.health_interval


@dataclass(frozen=True)
class Job:
    """One device inspected by one driver (a device with SNMP and SSH gives two jobs)."""

    ctx: DeviceContext
    driver: str

    @property
    def device(self) -> str:
        return self.ctx.device.name


def plan_jobs(contexts: Sequence[DeviceContext], drivers: Collection[str]) -> list[Job]:
    """The jobs for the devices' configured methods that have a driver (agents push).

    ``drivers`` is the driver names (a mapping of drivers by name will do).
    """
    return [
        Job(ctx, method)
        for ctx in contexts
        for method in ctx.device.inspect.methods
        if method in drivers
    ]


def _failed(device: str, driver: str, now: datetime, error: InspectionError) -> InspectionResult:
    """A failed result made here (timeout, driver bug), in the drivers' own shape."""
    source = Source(driver) if driver in Source.__members__ else Source.snmp
    return failed_result(device, driver, source, now, error)


async def inspect_bounded(
    driver: Driver,
    ctx: DeviceContext,
    depth: Depth,
    now: datetime,
    timeout: timedelta,
    sleep: Sleep = asyncio.sleep,
) -> InspectionResult:
    """Run one inspection, cut off after ``timeout``; never raises (except cancellation)."""
    name = ctx.device.name
    work = asyncio.ensure_future(driver.inspect(ctx, depth, now))
    alarm = asyncio.ensure_future(sleep(timeout.total_seconds()))
    try:
        await asyncio.wait({work, alarm}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        alarm.cancel()
        if not work.done():
            work.cancel()
    if work.cancelled() or not work.done():
        # Let the driver unwind (close its request) before the device may run again.
        await asyncio.gather(work, return_exceptions=True)
        seconds = timeout.total_seconds()
        error: InspectionError = Timeout(
            f"the {depth.value} inspection of {name} took longer than {seconds:g}s"
        )
        return _failed(name, driver.name, now, error)
    exc = work.exception()
    if exc is not None:
        # A driver must return failed results; one that raises has a bug: say so loudly.
        log.error("driver %s raised while inspecting %s", driver.name, name, exc_info=exc)
        error = ProtocolError(f"internal error while inspecting: {type(exc).__name__}: {exc}")
        return _failed(name, driver.name, now, error)
    return work.result()


class Limits:
    """Semaphores bounding inspections overall and per site (the minimal-impact rule)."""

    def __init__(self, overall: int) -> None:
        if overall < 1:
            raise ValueError("concurrency must be at least 1")
        self.overall = asyncio.Semaphore(overall)
        self._sites: dict[str, asyncio.Semaphore] = {}

    def site(self, ctx: DeviceContext) -> asyncio.Semaphore:
        key = f"{ctx.contract.id}/{ctx.site.name}"
        if key not in self._sites:
            self._sites[key] = asyncio.Semaphore(ctx.site.concurrency)
        return self._sites[key]


async def inspect_now(
    jobs: Sequence[Job],
    drivers: Mapping[str, Driver],
    clock: Clock,
    depth: Depth = Depth.health,
    concurrency: int = 32,
    timeout: TimeoutPolicy = default_timeout,
    sleep: Sleep = asyncio.sleep,
    on_done: Callable[[InspectionResult], None] | None = None,
) -> list[InspectionResult]:
    """Inspect every job once; results in the order of ``jobs``."""
    limits = Limits(concurrency)

    async def one(job: Job) -> InspectionResult:
        # Site first, then overall: one order everywhere, so no two jobs deadlock.
        async with limits.site(job.ctx), limits.overall:
            result = await inspect_bounded(
                drivers[job.driver], job.ctx, depth, clock.now(), timeout(job.ctx, depth), sleep
            )
        if on_done is not None:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(job) for job in jobs)))
