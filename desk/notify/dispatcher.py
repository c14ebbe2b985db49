"""Delivering the outbox: claim due items, send each through its channel, record the result.

The desk never sends while it handles an alarm: it writes a notice per channel into the
outbox (in the ticket's own database transaction) and the :class:`Dispatcher` delivers
them from its own thread, so a slow or dead chat server cannot hold up ingest. A failed
delivery is retried with exponential backoff (30 s, 1 m, 2 m, ... up to a cap) and, after
the last attempt, marked failed in the outbox, where it stays visible; it is never
silently dropped. Each claimed channel runs in its own worker, so one dead channel (an
SMTP relay that times out) does not delay another (the WeCom group).

The outbox is an interface (:class:`Outbox`): the desk implements it over its database,
with leases so several desk processes never send one item twice at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from desk.notify.errors import DeliveryError
from desk.notify.message import Notice
from weibao.clock import Clock
from weibao.logs import log_event, redact_text

LOG = logging.getLogger("weibao.desk.notify")


@dataclass(frozen=True)
class OutboxItem:
    """One notice waiting for one channel; ``attempts`` already made (0 when new)."""

    id: int
    channel: str
    notice: Notice
    attempts: int


class Outbox(Protocol):
    """Where notices wait; called only from the dispatcher's thread."""

    def claim(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Pending items whose next attempt is due, oldest first, leased to this caller.

        The lease keeps other desk processes off the items; it should outlast a batch's
        sends (per channel: items x timeout).
        """
        ...

    def mark_sent(self, item_id: int, now: datetime) -> None: ...

    def mark_failed(
        self, item_id: int, error: str, retry_at: datetime | None, now: datetime
    ) -> None:
        """Record a failed attempt; ``retry_at`` None means given up (kept, shown as failed)."""
        ...


class Sender(Protocol):
    def send(self, notice: Notice) -> None:
        """Deliver or raise DeliveryError(reason); the reason never holds a secret."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Delay before the next attempt: ``first``, multiplied by ``factor`` each time, capped."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=30)

    def delay(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed attempts (1 after the first failure)."""
        seconds = self.first.total_seconds() * self.factor ** min(max(attempts - 1, 0), 60)
        return timedelta(seconds=min(seconds, self.cap.total_seconds()))


@dataclass(frozen=True)
class DispatchReport:
    """What one round did."""

    sent: int = 0
    retried: int = 0
    gave_up: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.gave_up


@dataclass
class ChannelStats:
    """Counters of one channel since the dispatcher started (for ``/metrics``)."""

    sent: int = 0
    failed: int = 0  # failed attempts, retried or not
    gave_up: int = 0  # items marked failed for good


@dataclass(frozen=True)
class _Outcome:
    item: OutboxItem
    error: str | None = None
    permanent: bool = False


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        max_attempts: int = 10,
        backoff: Backoff | None = None,
        batch: int = 50,
        logger: logging.Logger | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._outbox = outbox
        self._senders = dict(senders)
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff()
        self._batch = batch
        self._log = logger or LOG
        self._stats: dict[str, ChannelStats] = {name: ChannelStats() for name in senders}
        self._stats_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self.outbox_errors = 0

    # -- one round ---------------------------------------------------------------------

    def dispatch_once(self) -> DispatchReport:
        """Claim the due items and deliver them; returns when every claimed item is recorded."""
        items = self._outbox.claim(self._clock.now(), self._batch)
        lanes: dict[str, list[OutboxItem]] = {}
        for item in items:
            lanes.setdefault(item.channel, []).append(item)
        results = Counter(self._record(outcome) for outcome in self._deliver_lanes(lanes))
        return DispatchReport(results["sent"], results["retry"], results["gave_up"])

    def _deliver_lanes(self, lanes: dict[str, list[OutboxItem]]) -> Iterator[_Outcome]:
        """Outcomes as they come: each channel's items in order, the channels side by side."""
        if len(lanes) <= 1:
            for items in lanes.values():
                for item in items:
                    yield self._deliver(item)
            return
        done: queue.SimpleQueue[_Outcome | None] = queue.SimpleQueue()

        def run(items: list[OutboxItem]) -> None:
            try:
                for item in items:
                    done.put(self._deliver(item))
            finally:
                done.put(None)  # this lane is finished

        with ThreadPoolExecutor(len(lanes), thread_name_prefix="weibao-notify") as pool:
            for items in lanes.values():
                pool.submit(run, items)
            finished = 0
            while finished < len(lanes):
                outcome = done.get()
                if outcome is None:
                    finished += 1
                else:
                    yield outcome

    def _deliver(self, item: OutboxItem) -> _Outcome:
        sender = self._senders.get(item.channel)
        if sender is None:
            reason = f"no channel named {item.channel!r} is configured in notifications.channels"
            return _Outcome(item, reason, permanent=True)
        try:
            sender.send(item.notice)
        except DeliveryError as exc:
            return _Outcome(item, exc.reason, exc.permanent)
        except Exception as exc:  # a sender bug: record it as a failed attempt, with its type
            return _Outcome(item, f"unexpected {type(exc).__name__} in the sender")
        return _Outcome(item)

    def _record(self, outcome: _Outcome) -> str:
        item = outcome.item
        now = self._clock.now()
        attempt = item.attempts + 1
        fields: dict[str, Any] = {
            "channel": item.channel,
            "item": item.id,
            "kind": item.notice.kind.value,
            "ticket": item.notice.ticket,
            "attempt": attempt,
        }
        if item.notice.report is not None:  # which report, never its recipients' data
            fields["report"] = item.notice.report.period
        if outcome.error is None:
            self._outbox.mark_sent(item.id, now)
            self._count(item.channel, "sent")
            log_event(self._log, "notify.sent", **fields)
            return "sent"
        reason = redact_text(outcome.error)
        self._count(item.channel, "failed")
        if outcome.permanent or attempt >= self._max_attempts:
            self._outbox.mark_failed(item.id, reason, None, now)
            self._count(item.channel, "gave_up")
            log_event(self._log, "notify.gave_up", logging.ERROR, **fields, reason=reason)
            return "gave_up"
        retry_at = now + self._backoff.delay(attempt)
        self._outbox.mark_failed(item.id, reason, retry_at, now)
        when = retry_at.isoformat(timespec="seconds")
        log_event(self._log, "notify.retry", logging.WARNING, **fields, reason=reason, at=when)
        return "retry"

    def _count(self, channel: str, what: str) -> None:
        with self._stats_lock:
            stats = self._stats.setdefault(channel, ChannelStats())
            setattr(stats, what, getattr(stats, what) + 1)

    def stats(self) -> dict[str, ChannelStats]:
        """A copy of the per-channel counters, safe to read from any thread."""
        with self._stats_lock:
            return {k: ChannelStats(v.sent, v.failed, v.gave_up) for k, v in self._stats.items()}

    # -- the background thread ---------------------------------------------------------

    def start(self, interval: float = 1.0) -> None:
        """Deliver in a daemon thread every ``interval`` seconds (sooner after :meth:`wake`)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the dispatcher is already running")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="weibao-dispatcher", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now, e.g. right after a notice was queued."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current round and stop; a send stuck past ``timeout`` is left behind."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():
            log_event(self._log, "notify.stop_timeout", logging.WARNING, waited=timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self, interval: float) -> None:
        while not self._stopping.is_set():
            try:
                report = self.dispatch_once()
            except Exception as exc:
                # The outbox (the database) failed. The items stay in it, so the next
                # round retries them; the thread must live on, and say so every time.
                self.outbox_errors += 1
                detail = redact_text(str(exc))[:300]
                log_event(
                    self._log,
                    "notify.outbox_error",
                    logging.ERROR,
                    error=type(exc).__name__,
                    detail=detail,
                )
                report = DispatchReport()
            if report.handled >= self._batch:
                continue  # a full batch: more are probably due
            self._wake.wait(interval)
            self._wake.clear()
