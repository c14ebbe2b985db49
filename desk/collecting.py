"""The collector inside the desk: ``weibao serve`` inspects the SNMP and SSH devices itself.

The same scheduler as ``weibao collector`` (jitter, per-site and overall limits, no
stacking, no catch-up), run in a thread of its own with its own event loop: pysnmp and
the SSH driver's threads never touch the HTTP server's loop, and a slow inspection never
delays an API answer. Batches go straight to the desk's :class:`~desk.ingest.Ingestor`, in a
worker thread, one batch at a time as the scheduler delivers them; there is no push,
token or spool in between.

A device whose secret reference cannot be read (an ``env:`` variable not set, a
``file:`` missing) is reported once at start and left out, rather than failing every
minute; set the secret and restart the desk to include it.

A batch the store cannot take (database down or locked) is kept and offered again with
the next one, up to :data:`BACKLOG` observations; the ingest is idempotent by
observation id, so a retry never counts twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from collector.driver import Driver, DriverRegistry
from collector.runner import Job, Sleep, plan_jobs
from collector.scheduler import DeviceStats, Scheduler
from desk.server import Desk
from weibao.clock import Clock
from weibao.errors import WeibaoError
from weibao.inventory.checks import SECRET_FIELDS
from weibao.inventory.model import DeviceContext
from weibao.logs import log_event
from weibao.observation import Observation

BACKLOG = 20_000  # observations kept while the store refuses them (then the oldest go)
STOP_TIMEOUT = 15.0

Ingest = Callable[[Sequence[Observation]], object]


class CollectorError(WeibaoError):
    """The in-process collector could not start or stop."""


def default_drivers() -> dict[str, Driver]:
    """SNMP and SSH, created in the collector's own loop (pysnmp binds to the loop)."""
    from collector.snmp.driver import SnmpDriver
    from collector.ssh.driver import SshDriver

    registry = DriverRegistry()
    registry.register("snmp", SnmpDriver)
    registry.register("ssh", SshDriver)
    return {name: registry.create(name) for name in registry.names()}


@dataclass(frozen=True)
class Skipped:
    device: str
    method: str
    reason: str


def runnable(
    jobs: Sequence[Job], environ: Mapping[str, str] | None = None
) -> tuple[list[Job], list[Skipped]]:
    """The jobs whose secret references can be read now, and the others with why.

    The reason names the reference, never a value.
    """
    env = os.environ if environ is None else environ
    ready: list[Job] = []
    skipped: list[Skipped] = []
    for job in jobs:
        block = getattr(job.ctx.device.inspect, job.driver, None)
        reasons = []
        for field in SECRET_FIELDS.get(job.driver, ()):
            ref = getattr(block, field, None)
            reason = ref.missing_reason(env) if ref is not None else None
            if reason is not None:
                reasons.append(f"secret {ref} cannot be read: {reason}")
        if reasons:
            skipped.append(Skipped(job.device, job.driver, "; ".join(reasons)))
        else:
            ready.append(job)
    return ready, skipped


class DeskSink:
    """The scheduler's :class:`collector.sink.Sink`, ingesting in a worker thread."""

    def __init__(self, ingest: Ingest, logger: logging.Logger) -> None:
        self._ingest = ingest
        self._log = logger
        self._backlog: list[Observation] = []
        self.failing: str | None = None
        self.dropped = 0

    async def deliver(self, observations: Sequence[Observation]) -> None:
        batch = [*self._backlog, *observations]
        self._backlog = []
        try:
            await asyncio.to_thread(self._ingest, batch)
        except Exception as exc:  # kept, retried and logged: never silent
            self._keep(batch, exc)
            return
        if self.failing is not None:
            log_event(self._log, "collector.ingest_recovered", observations=len(batch))
            self.failing = None

    def _keep(self, batch: list[Observation], exc: Exception) -> None:
        overflow = max(0, len(batch) - BACKLOG)
        self._backlog = batch[overflow:]
        self.dropped += overflow
        if self.failing is None:
            # Once per failure streak, with the traceback: a bug must be seen, not hidden.
            fields = {"error": f"{type(exc).__name__}: {exc}", "kept": len(self._backlog)}
            self._log.error("collector.ingest_failed", exc_info=exc, extra={"fields": fields})
        self.failing = f"{type(exc).__name__}: {exc}"
        if overflow:
            log_event(
                self._log, "collector.backlog_dropped", logging.WARNING, observations=overflow
            )


class InProcessCollector:
    """Runs the inspection schedule in a background thread until ``stop``."""

    def __init__(
        self,
        contexts: Sequence[DeviceContext],
        ingest: Ingest,
        clock: Clock,
        *,
        concurrency: int = 64,
        sleep: Sleep = asyncio.sleep,
        drivers: Callable[[], dict[str, Driver]] = default_drivers,
        environ: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._log = logger or logging.getLogger("weibao.desk.collector")
        self.jobs, self.skipped = runnable(plan_jobs(contexts, ("snmp", "ssh")), environ)
        self._clock = clock
        self._sleep = sleep
        self._concurrency = concurrency
        self._make_drivers = drivers
        self.sink = DeskSink(ingest, self._log)
        self.scheduler: Scheduler | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="weibao-collector", daemon=True)

    @classmethod
    def for_desk(
        cls, desk: Desk, contexts: Sequence[DeviceContext], concurrency: int = 64
    ) -> InProcessCollector:
        """A collector feeding ``desk``'s own ingestor (the one the API pushes to)."""
        return cls(contexts, desk.ingestor.ingest, desk.clock, concurrency=concurrency)

    @property
    def stats(self) -> dict[tuple[str, str], DeviceStats]:
        return dict(self.scheduler.stats) if self.scheduler is not None else {}

    def start(self, timeout: float = STOP_TIMEOUT) -> None:
        """Report the skipped devices, then schedule the rest (nothing to do: no thread)."""
        for skip in self.skipped:
            log_event(
                self._log,
                "collector.device_skipped",
                logging.WARNING,
                device=skip.device,
                method=skip.method,
                reason=skip.reason,
                hint="set the secret in the desk's environment and restart it",
            )
        if not self.jobs:
            log_event(self._log, "collector.idle", reason="no SNMP or SSH device to inspect")
            return
        self._thread.start()
        if not self._ready.wait(timeout):
            raise CollectorError(f"the in-process collector did not start within {timeout}s")
        log_event(
            self._log,
            "collector.started",
            mode="in-process",
            devices=len({j.device for j in self.jobs}),
            jobs=len(self.jobs),
            skipped=len(self.skipped),
        )

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._run())
        finally:
            # An ingest running in a worker thread finishes its transaction before the
            # desk closes the store (as asyncio.run would wait for it).
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _run(self) -> None:
        self._task = asyncio.current_task()
        drivers = self._make_drivers()
        try:
            self.scheduler = Scheduler(
                self.jobs,
                drivers,
                self.sink,
                self._clock,
                sleep=self._sleep,
                concurrency=self._concurrency,
            )
            self._ready.set()
            await self.scheduler.run()
        except asyncio.CancelledError:
            pass  # stop() asked
        except Exception as exc:  # logged loudly; the desk keeps serving
            self.error = exc
            fields = {"error": f"{type(exc).__name__}: {exc}"}
            self._log.error("collector.crashed", exc_info=exc, extra={"fields": fields})
        finally:
            self._ready.set()
            for driver in drivers.values():
                close = getattr(driver, "close", None)
                if callable(close):
                    close()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Cancel the schedule, let running inspections and the last ingest end, join."""
        if not self._thread.is_alive():
            return
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise CollectorError(f"the in-process collector did not stop within {timeout}s")
        log_event(self._log, "collector.stopped", mode="in-process")
