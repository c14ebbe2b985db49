"""What the desk does on its own, every few seconds, whether or not anything reports:

- evaluates the rules with no new data (silence rules, faults outlasting maintenance),
- escalates clocks that reached a step (:mod:`desk.escalation`),
- closes recovered minor tickets when the contract allows it (auto-close),
- announces follow-up calls (回访) that fell due.

Each ticket is handled in its own short transaction, so one broken ticket or a busy
database delays nothing else; every step is safe to run from several desk processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from desk.clocks import ClockPolicy
from desk.escalation import Escalated, escalate
from desk.ingest import Ingestor
from desk.model import SYSTEM_ACTOR, EventKind, TicketStatus
from desk.storage import Store, StoreTx, StoreUnavailable, TicketRecord
from desk.tickets import Notifier, Silent, refresh_clocks
from weibao.clock import Clock
from weibao.inventory.model import DeviceContext, Inventory
from weibao.logs import log_event

FOLLOWUP_CLOCK = "followup"


@dataclass
class Round:
    """What one round did, for logs and tests."""

    escalated: list[Escalated] = field(default_factory=list)
    auto_closed: list[str] = field(default_factory=list)
    followups: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)


class Housekeeper:
    def __init__(
        self,
        store: Store,
        inventory: Inventory,
        clock: Clock,
        ingestor: Ingestor,
        notify: Notifier | None = None,
        logger: logging.Logger | None = None,
        jobs: Sequence[Callable[[datetime], object]] = (),
    ) -> None:
        self._jobs = list(jobs)
        self._store = store
        self._contexts = inventory.device_index()
        self._clock = clock
        self._ingestor = ingestor
        self._notify = notify or Silent()
        self._log = logger or logging.getLogger("weibao.desk.housekeeping")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Round:
        done = Round()
        done.opened = [t.number for t in self._ingestor.tick().opened]
        for ticket_id in self._store.active_ticket_ids():
            with self._store.transaction() as tx:
                ticket = tx.ticket_for_update(ticket_id)
                if ticket is None or ticket.status is TicketStatus.closed:
                    continue
                now = self._clock.now()
                ctx = self._contexts.get(ticket.device)
                if ctx is not None and self._auto_close(tx, ticket, ctx, now):
                    done.auto_closed.append(ticket.number)
                    continue
                policy = ClockPolicy.of(ctx) if ctx else ClockPolicy.default(ticket.site_hq)
                done.escalated.extend(escalate(tx, ticket, policy, self._notify, now))
        done.followups = self._followups()
        self._run_jobs()
        self._report(done)
        return done

    def _run_jobs(self) -> None:
        """Rollups, retention, report delivery: each in its own try, so a failing job
        delays neither escalation nor the other jobs."""
        for job in self._jobs:
            try:
                job(self._clock.now())
            except StoreUnavailable:
                raise
            except Exception:
                self._log.exception("housekeeping job %s failed", getattr(job, "__qualname__", job))

    def _auto_close(
        self, tx: StoreTx, ticket: TicketRecord, ctx: DeviceContext, now: datetime
    ) -> bool:
        rule = ctx.contract.auto_close
        recovered = ticket.recovered_at
        if rule is None or recovered is None or ticket.level not in rule.levels:
            return False
        if ticket.status not in (TicketStatus.open, TicketStatus.acknowledged):
            return False  # an engineer is on it: they resolve it
        if now - recovered < rule.after or ticket.last_seen_at > recovered:
            return False
        quiet = {"auto": True, "recovered_at": recovered.isoformat(), "quiet_for": str(rule.after)}
        # Service came back when the fault cleared, not when the quiet period ended.
        tx.add_event(ticket.id, recovered, EventKind.resolved, SYSTEM_ACTOR, quiet)
        tx.add_event(ticket.id, now, EventKind.auto_closed, SYSTEM_ACTOR, quiet)
        tx.update_ticket(
            ticket.id,
            {"status": TicketStatus.closed, "resolved_at": recovered, "closed_at": now},
            now,
        )
        refresh_clocks(tx, ticket.id, ClockPolicy.of(ctx), now)
        return True

    def _followups(self) -> list[str]:
        now = self._clock.now()
        announced = []
        for ticket in self._store.followups_due(now):
            assert ticket.followup_due_at is not None
            with self._store.transaction() as tx:
                if tx.claim_escalation(
                    ticket.id, FOLLOWUP_CLOCK, "due", ticket.followup_due_at, now
                ):
                    self._notify.queue(tx, "followup.due", ticket, now)
                    announced.append(ticket.number)
        return announced

    def _report(self, done: Round) -> None:
        for step in done.escalated:
            log_event(
                self._log,
                "ticket.escalated",
                logging.WARNING,
                number=step.ticket,
                clock=step.clock.value,
                step=step.step,
                due=step.due.isoformat(),
            )
        for number in done.auto_closed:
            log_event(self._log, "ticket.auto_closed", number=number)
        for number in done.followups:
            log_event(self._log, "followup.due", number=number)

    # --- running in the background ------------------------------------------------------

    def start(self, interval: float = 15.0) -> None:
        """Run a round every ``interval`` seconds in a daemon thread until :meth:`stop`."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name="weibao-housekeeping", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except StoreUnavailable as exc:
                log_event(
                    self._log, "housekeeping.database_unavailable", logging.ERROR, error=str(exc)
                )
            except Exception:  # a bug in one round must not end escalation for good
                self._log.exception("housekeeping round failed")
            self._stop.wait(interval)
