"""From alarm to ticket: one active ticket per fault, with its SLA clocks running.

A firing alarm opens a ticket when its fingerprint has none that is not closed; further
alarms for the same fault add evidence; a worse level raises the ticket's level and
recomputes the due times from the original detection (the customer's wait started
then, not when the fault got worse); a cleared alarm records the recovery, and the
engineer still resolves the ticket. All writes go through one :class:`StoreTx`, so a
failed ingest leaves no half-made ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desk.clocks import due_for
from desk.model import SYSTEM_ACTOR, EventKind
from desk.storage import DueTimes, NewTicket, StoreTx, TicketFields, TicketRecord
from weibao.inventory.model import DeviceContext
from weibao.observation import Alarm

NUMBER_PREFIX = "WB"


def format_number(year: int, serial: int) -> str:
    """The human ticket number, ``WB-2026-000123``."""
    return f"{NUMBER_PREFIX}-{year:04d}-{serial:06d}"


@dataclass
class TicketOutcome:
    """What one evaluation did to tickets, for the ingest answer and the log."""

    opened: list[TicketRecord] = field(default_factory=list)
    raised: list[TicketRecord] = field(default_factory=list)
    evidence: list[TicketRecord] = field(default_factory=list)
    recovered: list[TicketRecord] = field(default_factory=list)
    # Alarms for devices the inventory does not know: no contract, so no ticket.
    orphaned: list[Alarm] = field(default_factory=list)


def apply_alarms(
    tx: StoreTx,
    firing: Sequence[Alarm],
    cleared: Sequence[Alarm],
    contexts: dict[str, DeviceContext],
    now: datetime,
) -> TicketOutcome:
    """Apply an evaluation's firing and cleared alarms to the tickets."""
    outcome = TicketOutcome()
    for alarm in firing:
        ctx = contexts.get(alarm.device)
        if ctx is None:
            outcome.orphaned.append(alarm)
            continue
        ticket = tx.active_ticket(alarm.fingerprint)
        if ticket is None:
            outcome.opened.append(open_ticket(tx, alarm, ctx, now))
            continue
        updated = add_evidence(tx, ticket, alarm, ctx, now)
        if updated.level != ticket.level:
            outcome.raised.append(updated)
        else:
            outcome.evidence.append(updated)
    for alarm in cleared:
        ticket = tx.active_ticket(alarm.fingerprint)
        if ticket is not None and ticket.recovered_at is None:
            outcome.recovered.append(record_recovery(tx, ticket, alarm, now))
    return outcome


def open_ticket(tx: StoreTx, alarm: Alarm, ctx: DeviceContext, now: datetime) -> TicketRecord:
    """Open a ticket for a new fault, its clocks running from detection."""
    # A device clock running ahead must not push due times into the future.
    detected_at = min(alarm.observed_at, now)
    due = due_for(ctx, alarm.level, detected_at)
    serial = tx.next_ticket_number(now.year)
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
        ),
        now,
    )
    data = {**_alarm_data(alarm), "title": alarm.title, "due": _due_data(due)}
    tx.add_event(ticket.id, now, EventKind.opened, SYSTEM_ACTOR, data)
    return ticket


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
    tx.add_event(ticket.id, now, EventKind.evidence, SYSTEM_ACTOR, data)
    if alarm.level.is_worse_than(ticket.level):
        due = due_for(ctx, alarm.level, ticket.detected_at)
        fields["level"] = alarm.level
        fields["due"] = due
        raised = {
            "from": ticket.level.value,
            "to": alarm.level.value,
            "observation_id": alarm.observation_id,
            "due": _due_data(due),
            "previous_due": _due_data(ticket.due),
        }
        tx.add_event(ticket.id, now, EventKind.level_raised, SYSTEM_ACTOR, raised)
    return tx.update_ticket(ticket.id, fields, now)


def record_recovery(tx: StoreTx, ticket: TicketRecord, alarm: Alarm, now: datetime) -> TicketRecord:
    """Note that the fault cleared; the ticket stays open for the engineer to resolve."""
    recovered_at = min(alarm.observed_at, now)
    data = {"observation_id": alarm.observation_id, "observed_at": recovered_at.isoformat()}
    tx.add_event(ticket.id, now, EventKind.recovered, SYSTEM_ACTOR, data)
    return tx.update_ticket(ticket.id, {"recovered_at": recovered_at}, now)


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
