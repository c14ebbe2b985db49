"""Escalation (升级): the contract's service manager is told before a clock breaks.

Three steps per clock: ``warning`` when the default 80 % of the time to the due time is
used, ``cannot_meet`` when the engineer could no longer reach the site in time given
the site's travel time, and ``breached``. Each step of each clock is sent once: the
database's unique key on (ticket, clock, step, due) is claimed before anything is sent,
so a restart or a second desk process never repeats it. A due time that moves (a level
raise, an agreement with the customer) makes a new step, since the old warning was
about a time that no longer holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from desk.clocks import ClockName, ClockPolicy, ClockView, clock_views, public_name
from desk.model import SYSTEM_ACTOR, EventKind
from desk.storage import StoreTx, TicketRecord
from desk.tickets import Notifier

WARNING = "warning"
CANNOT_MEET = "cannot_meet"
BREACHED = "breached"
STEPS = (WARNING, CANNOT_MEET, BREACHED)
"""In order of gravity: when several are due at once, the gravest is announced."""


@dataclass(frozen=True)
class Escalated:
    ticket: str
    clock: ClockName
    step: str
    due: datetime


def due_steps(
    view: ClockView, escalate_at: float, travel_time: timedelta | None, now: datetime
) -> list[str]:
    """The steps this clock has reached at ``now``; none once met or while paused."""
    if view.met_at is not None or view.paused:
        return []
    reached = []
    if view.share >= escalate_at:
        reached.append(WARNING)
    if view.name is ClockName.onsite and travel_time is not None and now + travel_time > view.due:
        reached.append(CANNOT_MEET)
    if view.breached:
        reached.append(BREACHED)
    return reached


def escalate(
    tx: StoreTx, ticket: TicketRecord, policy: ClockPolicy, notify: Notifier, now: datetime
) -> list[Escalated]:
    """Claim and announce the steps this ticket's clocks have reached and nobody sent."""
    views = clock_views(policy, ticket.level, ticket.detected_at, tx.events(ticket.id), now)
    done: list[Escalated] = []
    zone = ZoneInfo(ticket.timezone)
    for name, view in views.clocks.items():
        reached = due_steps(view, policy.escalate_at, policy.travel_time, now)
        claimed = [s for s in reached if tx.claim_escalation(ticket.id, name, s, view.due, now)]
        if not claimed:
            continue
        gravest = claimed[-1]
        called = public_name(name, views.level)
        data: dict[str, object] = {
            "clock": called,
            "step": gravest,
            "due": view.due.isoformat(),
            "used": round(view.share, 3),
        }
        if len(claimed) > 1:
            data["also"] = claimed[:-1]
        tx.add_event(ticket.id, now, EventKind.escalated, SYSTEM_ACTOR, data)
        notify.queue(
            tx,
            "ticket.escalated",
            ticket,
            now,
            clock=called,
            step=gravest,
            due=view.due.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
        done.append(Escalated(ticket.number, name, gravest, view.due))
    return done
