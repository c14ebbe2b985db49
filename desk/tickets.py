"""From alarm to ticket: one active ticket per fault, with its SLA clocks running.

A firing alarm opens a ticket when its fingerprint has none that is not closed; further
alarms for the same fault add evidence; a worse level raises the ticket's level and
recomputes the due times from the original detection (the customer's wait started
then, not when the fault got worse); a cleared alarm records the recovery, and the
engineer still resolves the ticket. A fault that comes back within the contract's
recurrence window after closing reopens its ticket and counts the recurrence; later
ones open a new ticket linked to the earlier ones (repeat incidents). All writes go
through one :class:`StoreTx`, so a failed ingest leaves no half-made ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from desk.clocks import ClockName, ClockPolicy, clock_views, due_for
from desk.model import SYSTEM_ACTOR, EventKind, TicketStatus
from desk.storage import DueTimes, NewTicket, StoreTx, TicketFields, TicketRecord
from rules.maintenance import suppressed_until, windows_of
from weibao.inventory.model import DeviceContext
from weibao.observation import Alarm

NUMBER_PREFIX = "WB"


def format_number(year: int, serial: int) -> str:
    """The human ticket number, ``WB-2026-000123``."""
    return f"{NUMBER_PREFIX}-{year:04d}-{serial:06d}"


class Notifier(Protocol):
    """Queues notices inside the ticket's transaction (see :mod:`desk.notices`)."""

    def queue(
        self,
        tx: StoreTx,
        kind: str,
        ticket: TicketRecord,
        now: datetime,
        named: str | None = None,
        **facts: str,
    ) -> None: ...


class Silent:
    """No notifications: for tests and tools that only want the tickets."""

    def queue(
        self,
        tx: StoreTx,
        kind: str,
        ticket: TicketRecord,
        now: datetime,
        named: str | None = None,
        **facts: str,
    ) -> None:
        return None


@dataclass
class TicketOutcome:
    """What one evaluation did to tickets, for the ingest answer and the log."""

    opened: list[TicketRecord] = field(default_factory=list)
    raised: list[TicketRecord] = field(default_factory=list)
    evidence: list[TicketRecord] = field(default_factory=list)
    recovered: list[TicketRecord] = field(default_factory=list)
    reopened: list[TicketRecord] = field(default_factory=list)
    # Alarms for devices the inventory does not know: no contract, so no ticket.
    orphaned: list[Alarm] = field(default_factory=list)


def apply_alarms(
    tx: StoreTx,
    firing: Sequence[Alarm],
    cleared: Sequence[Alarm],
    contexts: dict[str, DeviceContext],
    now: datetime,
    notify: Notifier | None = None,
) -> TicketOutcome:
    """Apply an evaluation's firing and cleared alarms to the tickets."""
    notify = notify or Silent()
    outcome = TicketOutcome()
    for alarm in firing:
        ctx = contexts.get(alarm.device)
        if ctx is None:
            outcome.orphaned.append(alarm)
            continue
        ticket = tx.active_ticket(alarm.fingerprint)
        if ticket is None:
            earlier = tx.last_closed_ticket(alarm.fingerprint)
            closed_at = earlier.closed_at if earlier is not None else None
            if (
                earlier is not None
                and closed_at
                and now - closed_at <= ctx.contract.recurrence_window
            ):
                reopened = reopen_for_recurrence(tx, earlier, alarm, ctx, now)
                outcome.reopened.append(reopened)
                notify.queue(tx, "ticket.reopened", reopened, now, reason="the fault recurred")
                continue
            opened = open_ticket(tx, alarm, ctx, now, earlier)
            outcome.opened.append(opened)
            notify.queue(tx, "ticket.opened", opened, now)
            continue
        if ticket.status is TicketStatus.resolved and ticket.recovered_at is not None:
            reopened = reopen_for_recurrence(tx, ticket, alarm, ctx, now)
            outcome.reopened.append(reopened)
            notify.queue(tx, "ticket.reopened", reopened, now, reason="the fault recurred")
            continue
        updated = add_evidence(tx, ticket, alarm, ctx, now)
        if updated.level != ticket.level:
            outcome.raised.append(updated)
            notify.queue(tx, "ticket.level_raised", updated, now, previous=ticket.level.value)
        else:
            outcome.evidence.append(updated)
    for alarm in cleared:
        ticket = tx.active_ticket(alarm.fingerprint)
        if ticket is not None and ticket.recovered_at is None:
            recovered = record_recovery(tx, ticket, alarm, now)
            outcome.recovered.append(recovered)
            notify.queue(tx, "ticket.recovered", recovered, now)
    return outcome


def detection_time(alarm: Alarm, ctx: DeviceContext, now: datetime) -> datetime:
    """When the customer's clocks start: when the fault was seen, or, for a fault that
    outlasted a maintenance window, when the window ended (not a backlog of hours)."""
    # A device clock running ahead must not push due times into the future.
    seen = min(alarm.observed_at, now)
    return min(suppressed_until(windows_of(ctx), seen), now)


def is_internal(alarm: Alarm) -> bool:
    """Monitoring's own faults (an agent or collector silent) are our operations' tickets."""
    return alarm.labels.get("audience") == "operations"


def open_ticket(
    tx: StoreTx,
    alarm: Alarm,
    ctx: DeviceContext,
    now: datetime,
    earlier: TicketRecord | None = None,
) -> TicketRecord:
    """Open a ticket for a new fault, its clocks running from detection.

    ``earlier``: the last closed ticket of the same fault, outside the recurrence window;
    the new ticket is linked to it (and to what it was linked to).
    """
    detected_at = detection_time(alarm, ctx, now)
    due = due_for(ctx, alarm.level, detected_at)
    serial = tx.next_ticket_number(now.year)
    related = () if earlier is None else (earlier.number, *earlier.related)
    engineers = ctx.site.engineers
    ticket = tx.insert_ticket(
        NewTicket(
            number=format_number(now.year, serial),
            fingerprint=alarm.fingerprint,
            rule=alarm.rule,
            customer=ctx.customer.name,
            contract=ctx.contract.id,
            site=ctx.site.name,
            site_hq=ctx.site.hq,
            timezone=ctx.site.timezone,
            device=alarm.device,
            level=alarm.level,
            title=alarm.title,
            description=alarm.description,
            labels=dict(alarm.labels),
            detected_at=detected_at,
            due=due,
            assignee=engineers[0].name if engineers else None,
            internal=is_internal(alarm),
            related=related,
            snapshot=tx.snapshot(
                alarm.device, alarm.observation_id, frozenset(x.name for x in alarm.evidence)
            ),
        ),
        now,
    )
    data = {**_alarm_data(alarm), "title": alarm.title, "due": _due_data(due)}
    if related:
        data["related"] = list(related)
    if ticket.assignee:
        data["assignee"] = ticket.assignee
    tx.add_event(ticket.id, now, EventKind.opened, SYSTEM_ACTOR, data)
    return ticket


def reopen_for_recurrence(
    tx: StoreTx, ticket: TicketRecord, alarm: Alarm, ctx: DeviceContext, now: datetime
) -> TicketRecord:
    """The fault is back soon after it was fixed: the same ticket, reopened and counted."""
    data = {**_alarm_data(alarm), "recurrences": ticket.recurrences + 1}
    tx.add_event(ticket.id, now, EventKind.recurred, SYSTEM_ACTOR, data)
    tx.add_event(ticket.id, now, EventKind.reopened, SYSTEM_ACTOR, {"reason": "the fault recurred"})
    fields: TicketFields = {
        "status": TicketStatus.open,
        "recurrences": ticket.recurrences + 1,
        "recovered_at": None,
        "resolved_at": None,
        "signed_off_at": None,
        "closed_at": None,
        "followup_due_at": None,
        "last_seen_at": max(ticket.last_seen_at, min(alarm.observed_at, now)),
        "evidence_count": ticket.evidence_count + 1,
    }
    if alarm.level.is_worse_than(ticket.level):
        fields["level"] = alarm.level
        tx.add_event(
            ticket.id,
            now,
            EventKind.level_raised,
            SYSTEM_ACTOR,
            {"from": ticket.level.value, "to": alarm.level.value},
        )
    tx.update_ticket(ticket.id, fields, now)
    return refresh_clocks(tx, ticket.id, ClockPolicy.of(ctx), now)


def add_evidence(
    tx: StoreTx, ticket: TicketRecord, alarm: Alarm, ctx: DeviceContext, now: datetime
) -> TicketRecord:
    """Record a further alarm for an open fault; raise the level if it got worse."""
    fields: TicketFields = {
        "last_seen_at": max(ticket.last_seen_at, min(alarm.observed_at, now)),
        "evidence_count": ticket.evidence_count + 1,
    }
    data = _alarm_data(alarm)
    if ticket.recovered_at is not None:
        # The fault came back before anyone resolved the ticket: it is not recovered.
        fields["recovered_at"] = None
        data["returned_after_recovery"] = True
    if ticket.status is TicketStatus.resolved:
        data["after_resolution"] = True
    tx.add_event(ticket.id, now, EventKind.evidence, SYSTEM_ACTOR, data)
    if alarm.level.is_worse_than(ticket.level):
        fields["level"] = alarm.level
        raised = {
            "from": ticket.level.value,
            "to": alarm.level.value,
            "observation_id": alarm.observation_id,
            "previous_due": _due_data(ticket.due),
        }
        tx.add_event(ticket.id, now, EventKind.level_raised, SYSTEM_ACTOR, raised)
        tx.update_ticket(ticket.id, fields, now)
        return refresh_clocks(tx, ticket.id, ClockPolicy.of(ctx), now)
    return tx.update_ticket(ticket.id, fields, now)


def record_recovery(tx: StoreTx, ticket: TicketRecord, alarm: Alarm, now: datetime) -> TicketRecord:
    """Note that the fault cleared; the ticket stays open for the engineer to resolve."""
    recovered_at = min(alarm.observed_at, now)
    data = {"observation_id": alarm.observation_id, "observed_at": recovered_at.isoformat()}
    tx.add_event(ticket.id, now, EventKind.recovered, SYSTEM_ACTOR, data)
    return tx.update_ticket(ticket.id, {"recovered_at": recovered_at}, now)


def refresh_clocks(tx: StoreTx, ticket_id: int, policy: ClockPolicy, now: datetime) -> TicketRecord:
    """Replay the ticket's events and store the clocks' due and met times for listing.

    The stored columns are a cache for queries and lists; the event log stays the truth.
    """
    ticket = tx.ticket_for_update(ticket_id)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} does not exist")
    views = clock_views(policy, ticket.level, ticket.detected_at, tx.events(ticket_id), now)
    return tx.update_ticket(
        ticket_id,
        {
            "level": views.level,
            "due": views.due,
            "met_response": views[ClockName.response].met_at,
            "met_onsite": views[ClockName.onsite].met_at,
            "met_resolve": views[ClockName.resolve].met_at,
        },
        now,
    )


def _alarm_data(alarm: Alarm) -> dict[str, Any]:
    return {
        "rule": alarm.rule,
        "level": alarm.level.value,
        "observation_id": alarm.observation_id,
        "observed_at": alarm.observed_at.isoformat(),
        "labels": dict(alarm.labels),
        "samples": [s.model_dump(mode="json") for s in alarm.evidence],
    }


def _due_data(due: DueTimes) -> dict[str, str]:
    return {
        "response": due.response.isoformat(),
        "onsite": due.onsite.isoformat(),
        "resolve": due.resolve.isoformat(),
    }
