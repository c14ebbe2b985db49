"""From alarm to ticket: one active ticket per fault, with its SLA clocks running.

A firing alarm opens a ticket when its fingerprint has none that is not closed; further
alarms for the same fault add evidence; a worse level raises the ticket's level and
recomputes the due times from the original detection (the customer's wait started
then, not when the fault got worse); a cleared alarm records the recovery, and the
engineer still resolves the ticket. A fault that comes back within the contract's
recurrence window after closing reopens its ticket and counts the recurrence; later
ones open a new ticket linked to the earlier ones (repeat incidents). All writes go
through one :class:`StoreTx`, so a failed ingest leaves no half-made ticket.

Storms: an alarm the engine *holds* (``held_by``: its upstream is down but still inside
its ``for:``, or has just come back) opens no ticket. When an upstream's down alarm
names the alarms held under it (``suppressed_alarm`` evidence), the tickets those opened
before the upstream was known down are folded into the upstream's ticket: closed as
merged when nobody has taken them up yet, linked (kept open, related both ways) when an
engineer already has. Each report of the upstream folds again, so a second desk or a
late dependant is caught, and a ticket is folded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from desk.clocks import MANAGEMENT, ClockName, ClockPolicy, clock_views, due_for, is_advisory
from desk.model import SYSTEM_ACTOR, EventKind, TicketStatus
from desk.storage import DueTimes, NewTicket, StoreTx, TicketFields, TicketRecord
from rules.alarms import SUPPRESSED_SAMPLE
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
    # Alarms the engine holds while their upstream's fault is decided: no ticket yet.
    held: list[Alarm] = field(default_factory=list)
    # Dependants' tickets closed into their upstream's ticket, and ones only linked to it.
    folded: list[TicketRecord] = field(default_factory=list)
    linked: list[TicketRecord] = field(default_factory=list)


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
        ticket = _apply_firing(tx, alarm, ctx, now, notify, outcome)
        if ticket is not None:
            fold_dependants(tx, ticket, alarm, now, outcome)
    for alarm in cleared:
        ticket = tx.active_ticket(alarm.fingerprint)
        if ticket is None:
            # Closed before the monitoring saw the fault clear (fixed, then closed
            # before the next inspection): the recovery still belongs on it.
            closed = tx.last_closed_ticket(alarm.fingerprint)
            if closed is not None and closed.recovered_at is None:
                outcome.recovered.append(record_recovery(tx, closed, alarm, now))
            continue
        if ticket.recovered_at is None:
            recovered = record_recovery(tx, ticket, alarm, now)
            outcome.recovered.append(recovered)
            notify.queue(tx, "ticket.recovered", recovered, now)
    return outcome


def _apply_firing(
    tx: StoreTx,
    alarm: Alarm,
    ctx: DeviceContext,
    now: datetime,
    notify: Notifier,
    outcome: TicketOutcome,
) -> TicketRecord | None:
    """Open, reopen or add evidence to the fault's ticket; None when the alarm is held."""
    ticket = tx.active_ticket(alarm.fingerprint)
    if ticket is None:
        if is_held(alarm):
            outcome.held.append(alarm)
            return None
        earlier = tx.last_closed_ticket(alarm.fingerprint)
        closed_at = earlier.closed_at if earlier is not None else None
        if (
            earlier is not None
            and closed_at
            and now - closed_at <= ctx.contract.recurrence_window
            and not was_folded(tx, earlier)
        ):
            reopened = reopen_for_recurrence(tx, earlier, alarm, ctx, now)
            outcome.reopened.append(reopened)
            notify.queue(tx, "ticket.reopened", reopened, now, reason="the fault recurred")
            return reopened
        # After a fold, the fault is its own again (the upstream came back, this device
        # did not): a new ticket, related to the folded one and to the upstream's.
        opened = open_ticket(tx, alarm, ctx, now, earlier)
        outcome.opened.append(opened)
        notify.queue(tx, "ticket.opened", opened, now)
        return opened
    if ticket.status is TicketStatus.resolved and ticket.recovered_at is not None:
        reopened = reopen_for_recurrence(tx, ticket, alarm, ctx, now)
        outcome.reopened.append(reopened)
        notify.queue(tx, "ticket.reopened", reopened, now, reason="the fault recurred")
        return reopened
    updated = add_evidence(tx, ticket, alarm, ctx, now)
    if updated.level != ticket.level:
        outcome.raised.append(updated)
        notify.queue(tx, "ticket.level_raised", updated, now, previous=ticket.level.value)
    else:
        outcome.evidence.append(updated)
    return updated


def is_held(alarm: Alarm) -> bool:
    """The engine waits to know whether an upstream explains this fault (rules.report)."""
    return bool(alarm.labels.get("held_by"))


def held_fingerprints(alarm: Alarm) -> list[str]:
    """The alarms an upstream's down alarm names as held under it."""
    found = {
        s.labels["alarm"]
        for s in alarm.evidence
        if s.name == SUPPRESSED_SAMPLE and s.labels.get("alarm")
    }
    found.discard(alarm.fingerprint)
    return sorted(found)


def fold_dependants(
    tx: StoreTx, root: TicketRecord, alarm: Alarm, now: datetime, outcome: TicketOutcome
) -> None:
    """Fold the dependants' tickets into the upstream's ``root`` ticket (see the module).

    A ticket nobody has taken up (still ``open``) is closed as merged: its engineer has
    nothing to lose, and the outage's ticket carries the work. One an engineer has
    acknowledged, is on site for or has resolved stays open and is linked instead:
    closing it would take the ticket from under the engineer's next step. So does one
    of another customer (an upstream shared across contracts).
    """
    fingerprints = held_fingerprints(alarm)
    if not fingerprints or root.status is TicketStatus.closed:
        return
    folded: list[dict[str, str]] = []
    linked: list[dict[str, str]] = []
    for dependant in tx.active_tickets(fingerprints):
        if dependant.id == root.id or root.number in dependant.related:
            continue  # already linked, by this report or another desk's
        # Another customer's ticket is never closed into ours: their contract, their ticket.
        fold = dependant.status is TicketStatus.open and dependant.customer == root.customer
        data = {
            "how": "folded" if fold else "linked",
            "into": root.number,
            "root_device": root.device,
            "root_fingerprint": root.fingerprint,
        }
        tx.add_event(dependant.id, now, EventKind.merged, SYSTEM_ACTOR, data)
        fields: TicketFields = {"related": [*dependant.related, root.number]}
        if fold:
            fields["status"] = TicketStatus.closed
            fields["closed_at"] = now
        updated = tx.update_ticket(dependant.id, fields, now)
        entry = {
            "number": dependant.number,
            "device": dependant.device,
            "fingerprint": dependant.fingerprint,
            "detected_at": dependant.detected_at.isoformat(),
        }
        (folded if fold else linked).append(entry)
        (outcome.folded if fold else outcome.linked).append(updated)
    if folded or linked:
        root_data: dict[str, Any] = {"folded": folded, "linked": linked}
        root_data["observation_id"] = alarm.observation_id
        tx.add_event(root.id, now, EventKind.merged, SYSTEM_ACTOR, root_data)


def was_folded(tx: StoreTx, ticket: TicketRecord) -> bool:
    """Whether the ticket's last closing was a fold into an upstream's ticket."""
    for event in reversed(tx.events(ticket.id)):
        if event.kind == EventKind.reopened:
            return False
        if event.kind == EventKind.merged and event.data.get("how") == "folded":
            return True
    return False


def detection_time(alarm: Alarm, ctx: DeviceContext, now: datetime) -> datetime:
    """When the customer's clocks start: when the fault was seen, or, for a fault that
    outlasted a maintenance window, when the window ended (not a backlog of hours)."""
    # A device clock running ahead must not push due times into the future.
    seen = min(alarm.observed_at, now)
    return min(suppressed_until(windows_of(ctx), seen), now)


def is_internal(alarm: Alarm) -> bool:
    """Monitoring's own faults (an agent or collector silent) are our operations' tickets;
    advisories (``audience: management``) are the service manager's: neither is shown
    to the customer."""
    return alarm.labels.get("audience") in ("operations", MANAGEMENT)


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
    # An advisory is the service manager's to take up with the customer, not a job for
    # the site's engineer.
    if is_advisory(alarm.labels):
        assignee: str | None = ctx.contract.service_manager.name
    else:
        assignee = engineers[0].name if engineers else None
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
            assignee=assignee,
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
    if is_advisory(alarm.labels):  # no clock runs: store them as the replay gives them
        return refresh_clocks(tx, ticket.id, ClockPolicy.of(ctx), now)
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
    record_evidence(tx, ticket.id, data, now)
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


NOTABLE_EVIDENCE = ("returned_after_recovery", "after_resolution")
"""Evidence that tells something on its own: always a row of the timeline."""


def record_evidence(tx: StoreTx, ticket_id: int, data: dict[str, Any], now: datetime) -> None:
    """Add the alarm's report to the timeline, one row per run of reports, not per report.

    A fault that lasts is reported by every inspection (about 1,440 a day): the ticket
    counts them (``evidence_count``) and keeps the first (the ``opened`` event, or the
    first report after another step) and the latest. A report that follows a plain
    evidence row replaces it, carrying the run's ``reports`` and ``first_at``; one after
    any other event (a step, an escalation, a fold) or a notable one starts a new row.
    """
    last = tx.last_event(ticket_id)
    notable = any(data.get(key) for key in NOTABLE_EVIDENCE)
    if (
        last is not None
        and last.kind == EventKind.evidence
        and not notable
        and not any(last.data.get(key) for key in NOTABLE_EVIDENCE)
    ):
        data["reports"] = int(last.data.get("reports", 1)) + 1
        data["first_at"] = last.data.get("first_at", last.at.isoformat())
        tx.replace_event(last.id, now, data)
        return
    tx.add_event(ticket_id, now, EventKind.evidence, SYSTEM_ACTOR, data)


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
        # What is held under an upstream is folded, not kept: its tickets say so.
        "samples": [
            s.model_dump(mode="json") for s in alarm.evidence if s.name != SUPPRESSED_SAMPLE
        ],
    }


def _due_data(due: DueTimes) -> dict[str, str]:
    return {
        "response": due.response.isoformat(),
        "onsite": due.onsite.isoformat(),
        "resolve": due.resolve.isoformat(),
    }
