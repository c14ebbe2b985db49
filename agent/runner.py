"""The agent's loop: inspect, spool, push, replay what the desk did not take.

Every observation goes to the spool first and leaves it only when the desk has taken it,
so a crash between the two loses nothing; the desk stores each id once, so a batch sent
twice (the answer lost on the way back) is counted once. Order is kept: while anything
is spooled, new batches queue behind it, so the desk sees a server's history in the
order it happened.

The agent is quiet: it logs when the desk goes away and when it comes back, not at every
interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from agent.stats import AgentStats
from weibao.delivery.push import Failure, PushClient, PushError
from weibao.delivery.spool import Spool
from weibao.delivery.wire import WireObservation
from weibao.logs import log_event

log = logging.getLogger("weibao.agent")


class Inspects(Protocol):
    def prime(self) -> None: ...
    def inspect(self, full: bool = False) -> WireObservation: ...


class AgentRunner:
    def __init__(
        self,
        inspector: Inspects,
        client: PushClient,
        spool: Spool,
        stats: AgentStats | None = None,
        *,
        wall_time: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inspector = inspector
        self._client = client
        self._spool = spool
        self.stats = stats or AgentStats(spool=spool)
        self._wall_time = wall_time
        self._monotonic = monotonic
        self._away: str | None = None  # why the desk is unreachable, while it is
        self._unwritable: str | None = None  # why the spool cannot be written, while so
        self._lost_to_disk = 0  # observations lost while the spool could not be written
        self._dropped_seen = spool.dropped

    def flush(self, budget: float | None = None) -> bool:
        """Replay spooled batches in order; True when the spool is empty afterwards.

        ``budget`` bounds the seconds spent, so a week of backlog does not hold up the
        next inspection; the rest goes at the next call. Raises PushError (kind
        ``fatal``) when the desk refuses this agent itself.
        """
        sent = 0
        deadline = None if budget is None else self._monotonic() + budget
        for path, batch in self._spool.pending():
            if deadline is not None and sent and self._monotonic() > deadline:
                return False
            try:
                result = self._client.push(batch)
            except PushError as exc:
                if exc.kind is Failure.retry:
                    self.stats.push_failures += 1
                    self._desk_away(str(exc))
                    return False
                if exc.kind is Failure.rejected:
                    aside = self._spool.set_aside(path, str(exc))
                    log_event(
                        log, "agent.batch_rejected", logging.ERROR, error=str(exc), kept=str(aside)
                    )
                    continue
                raise
            self._spool.done(path)
            sent += 1
            self.stats.pushed_observations += result.accepted + result.duplicates
            self.stats.last_push_success = self._wall_time()
        if self._away is not None:
            log_event(log, "agent.desk_back", url=self._client.url, replayed=sent)
            self._away = None
        return True

    def run_once(self, full: bool = False, budget: float | None = None) -> bool:
        """Inspect, spool, flush; True when the spool is empty afterwards."""
        observation = self._inspector.inspect(full=full)
        self.stats.inspections += 1
        try:
            self._spool.put([observation])
        except OSError as exc:
            # A full or broken disk must not stop the monitoring of this very server:
            # send what is spooled, then this observation straight from memory.
            return self._push_unspooled(observation, exc)
        if self._unwritable is not None:
            log_event(
                log,
                "agent.spool_writable_again",
                directory=str(self._spool.directory),
                cause=self._unwritable,
                lost=self._lost_to_disk,
            )
            self._unwritable, self._lost_to_disk = None, 0
        if self._spool.dropped > self._dropped_seen:
            log_event(
                log,
                "agent.spool_full",
                logging.WARNING,
                dropped=self._spool.dropped,
                batches=self._spool.batches,
                bytes=self._spool.bytes,
            )
            self._dropped_seen = self._spool.dropped
        return self.flush(budget)

    def _push_unspooled(self, observation: WireObservation, exc: OSError) -> bool:
        why = exc.strerror or str(exc)
        if self._unwritable != why:  # once per cause, not at every interval
            log_event(
                log,
                "agent.spool_unwritable",
                logging.ERROR,
                directory=str(self._spool.directory),
                error=why,
                hint="free space on that disk (or fix its permissions); the agent sends "
                "straight to the desk meanwhile",
            )
        self._unwritable = why
        if self.flush():
            try:
                result = self._client.push([observation])
            except PushError as push_error:
                if push_error.kind is Failure.fatal:
                    raise
            else:
                self.stats.pushed_observations += result.accepted + result.duplicates
                self.stats.last_push_success = self._wall_time()
                return True
        # Nowhere to keep it: counted with the spool's losses, but the disk is the cause
        # (logged when it is writable again), not a full spool.
        self._spool.dropped += 1
        self._dropped_seen = self._spool.dropped
        self._lost_to_disk += 1
        return False

    def run_forever(self, interval: float, stop: threading.Event, full_every: float) -> None:
        """Until ``stop`` is set: a full inspection at start and every ``full_every``
        seconds, a health inspection every ``interval`` seconds in between."""
        self._inspector.prime()
        stop.wait(min(1.0, interval))  # the first rates need some time between snapshots
        next_full = self._monotonic()
        while not stop.is_set():
            started = self._monotonic()
            full = started >= next_full
            if full:
                next_full = started + full_every
            self.run_once(full=full, budget=interval / 2)
            stop.wait(max(0.0, interval - (self._monotonic() - started)))

    def _desk_away(self, why: str) -> None:
        if self._away is None:
            log_event(
                log,
                "agent.desk_unreachable",
                logging.WARNING,
                error=why,
                spooled=self._spool.batches,
            )
        self._away = why
