"""The store queries the report builders need, a handful per report whatever its size.

Everything about a set of tickets (the tickets, all their events, escalations and part
uses) is read with one query each, the ticket filter repeated as a subquery, so the
quarterly statistics of 20,000 tickets cost four queries, not 80,000. The big columns
(the diagnostic snapshot with its raw outputs, the description) are read only when a
report shows them: the inspection report of one customer, never the company's quarter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, null, select
from sqlalchemy.orm import Session

from desk.model import EventKind, TicketStatus
from desk.storage import Store
from desk.storage.convert import part_use_record, ticket_record
from desk.storage.records import DueTimes, EventRecord, PartUseRecord, TicketRecord
from desk.storage.tables import (
    DailyRollupRow,
    EscalationRow,
    PartUseRow,
    TicketEventRow,
    TicketRow,
)
from weibao.levels import Level

SLA_CLOCKS = ("response", "onsite", "resolve")
"""Escalation rows also claim follow-up calls; only these are SLA escalations."""


@dataclass(frozen=True)
class TicketScope:
    """Which tickets a report reads.

    ``start``/``end`` are UTC instants, ``end`` excluded. ``overlapping``: tickets that
    existed during the period (detected before its end, not closed before its start);
    otherwise only those detected in it. ``internal``: False for customer-facing
    tickets only, True for monitoring's own, None for both.
    """

    start: datetime
    end: datetime
    customers: Collection[str] | None = None
    contract: str | None = None
    internal: bool | None = False
    overlapping: bool = True


@dataclass
class TicketBundle:
    tickets: list[TicketRecord]
    events: dict[int, list[EventRecord]] = field(default_factory=dict)
    escalations: dict[int, list[tuple[str, str, datetime]]] = field(default_factory=dict)
    parts: dict[int, list[PartUseRecord]] = field(default_factory=dict)

    def events_of(self, ticket: TicketRecord) -> list[EventRecord]:
        return self.events.get(ticket.id, [])


# Every ticket column but the two that can be large.
_LIGHT = [c for c in TicketRow.__table__.columns if c.name not in ("snapshot", "description")]


def load_tickets(
    store: Store,
    scope: TicketScope,
    *,
    details: bool = False,
    event_kinds: Collection[str] | None = None,
    opened_level_only: bool = False,
) -> TicketBundle:
    """The tickets of ``scope`` with their events, escalations and part uses.

    ``event_kinds``: only events of these kinds (the statistics need a dozen of them;
    the evidence and escalation probes that make up most of a log, none), else all.
    ``opened_level_only``: an ``opened`` event's data holds only its ``level`` (what the
    clocks read), not the alarm it copies (half a kilobyte of JSON per ticket)."""
    ids = _ids(scope)
    with store.read_session() as session:
        if details:
            rows = session.scalars(select(TicketRow).where(TicketRow.id.in_(ids)))
            tickets = [ticket_record(row) for row in rows]
        else:
            # Core, not the ORM's row wrapping: plain columns, 20,000 rows a quarter.
            result = session.connection().execute(select(*_LIGHT).where(TicketRow.id.in_(ids)))
            tickets = [_light_record(row._mapping) for row in result]
        tickets.sort(key=lambda t: (t.detected_at, t.id))
        bundle = TicketBundle(tickets)
        _read_related(session, ids, bundle, event_kinds, opened_level_only)
    return bundle


def _read_related(
    session: Session,
    ids: Select[Any],
    bundle: TicketBundle,
    kinds: Collection[str] | None,
    opened_level_only: bool,
) -> None:
    events: dict[int, list[EventRecord]] = defaultdict(list)
    # Plain rows, not ORM objects: a quarter has a hundred thousand events.
    ev = TicketEventRow
    opened = ev.kind == str(EventKind.opened)
    data_col = case((opened, null()), else_=ev.data) if opened_level_only else ev.data
    level_col = ev.data["level"].as_string() if opened_level_only else null()
    stmt = (
        select(ev.id, ev.ticket_id, ev.at, ev.kind, ev.actor, data_col, level_col)
        .where(ev.ticket_id.in_(ids))
        .order_by(ev.at, ev.id)
    )
    if kinds is not None:
        stmt = stmt.where(ev.kind.in_(sorted(str(k) for k in kinds)))
    for event_id, ticket_id, at, kind, actor, data, level in session.connection().execute(stmt):
        if opened_level_only and kind == EventKind.opened:
            data = {} if level is None else {"level": level}
        events[ticket_id].append(EventRecord(event_id, ticket_id, at, kind, actor, dict(data)))
    bundle.events = dict(events)
    escalations: dict[int, list[tuple[str, str, datetime]]] = defaultdict(list)
    esc = (
        select(EscalationRow.ticket_id, EscalationRow.clock, EscalationRow.step, EscalationRow.at)
        .where(EscalationRow.ticket_id.in_(ids))
        .where(EscalationRow.clock.in_(SLA_CLOCKS))
        .order_by(EscalationRow.id)
    )
    for ticket_id, clock, step, at in session.connection().execute(esc):
        escalations[ticket_id].append((clock, step, at))
    bundle.escalations = dict(escalations)
    parts: dict[int, list[PartUseRecord]] = defaultdict(list)
    uses = select(PartUseRow).where(PartUseRow.ticket_id.in_(ids)).order_by(PartUseRow.id)
    for use in session.scalars(uses):
        parts[use.ticket_id].append(part_use_record(use))
    bundle.parts = dict(parts)


def _ids(scope: TicketScope) -> Select[Any]:
    stmt = select(TicketRow.id).where(TicketRow.detected_at < scope.end)
    if scope.overlapping:
        stmt = stmt.where((TicketRow.closed_at.is_(None)) | (TicketRow.closed_at >= scope.start))
    else:
        stmt = stmt.where(TicketRow.detected_at >= scope.start)
    if scope.customers is not None:
        stmt = stmt.where(TicketRow.customer.in_(list(scope.customers)))
    if scope.contract is not None:
        stmt = stmt.where(TicketRow.contract == scope.contract)
    if scope.internal is not None:
        stmt = stmt.where(TicketRow.internal.is_(scope.internal))
    return stmt


def _light_record(row: Any) -> TicketRecord:
    return TicketRecord(
        id=row["id"],
        number=row["number"],
        fingerprint=row["fingerprint"],
        rule=row["rule"],
        customer=row["customer"],
        contract=row["contract"],
        site=row["site"],
        site_hq=bool(row["site_hq"]),
        timezone=row["timezone"],
        device=row["device"],
        level=Level(row["level"]),
        status=TicketStatus(row["status"]),
        title=row["title"],
        description="",
        labels=dict(row["labels"] or {}),
        detected_at=row["detected_at"],
        due=DueTimes(row["due_response"], row["due_onsite"], row["due_resolve"]),
        met_response=row["met_response"],
        met_onsite=row["met_onsite"],
        met_resolve=row["met_resolve"],
        recovered_at=row["recovered_at"],
        last_seen_at=row["last_seen_at"],
        evidence_count=row["evidence_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        assignee=row["assignee"],
        internal=bool(row["internal"]),
        recurrences=row["recurrences"],
        related=tuple(row["related"] or ()),
        resolved_at=row["resolved_at"],
        signed_off_at=row["signed_off_at"],
        closed_at=row["closed_at"],
        followup_due_at=row["followup_due_at"],
        followup_done_at=row["followup_done_at"],
    )


def count_internal(store: Store, start: datetime, end: datetime) -> int:
    """Monitoring's own tickets detected in [start, end): a total, nothing more."""
    stmt = (
        select(func.count())
        .select_from(TicketRow)
        .where(TicketRow.internal.is_(True))
        .where(TicketRow.detected_at >= start)
        .where(TicketRow.detected_at < end)
    )
    with store.read_session() as session:
        return int(session.execute(stmt).scalar_one())


@dataclass(frozen=True)
class UpTotals:
    """A device's ``up`` samples over a period: all of them, and those in service hours."""

    count: int
    sum: float
    service_count: int
    service_sum: float


def up_totals(store: Store, bounds: dict[str, tuple[datetime, datetime]]) -> dict[str, UpTotals]:
    """Each device's ``up`` totals over its own [start, end), summed by the database: the
    quarter's availability of 2,000 devices is 2,000 rows, not 184,000 daily buckets.
    One query per distinct period (devices of one time zone share theirs)."""
    by_bounds: dict[tuple[datetime, datetime], list[str]] = defaultdict(list)
    for device, span in bounds.items():
        by_bounds[span].append(device)
    r = DailyRollupRow
    out: dict[str, UpTotals] = {}
    with store.read_session() as session:
        for (start, end), devices in by_bounds.items():
            stmt = (
                select(
                    r.device,
                    func.sum(r.count),
                    func.sum(r.sum),
                    func.sum(r.service_count),
                    func.sum(r.service_sum),
                )
                .where(r.series == "up", r.start >= start, r.start < end)
                .where(r.device.in_(devices))
                .group_by(r.device)
            )
            for device, count, total, s_count, s_sum in session.execute(stmt):
                out[device] = UpTotals(int(count), float(total), int(s_count), float(s_sum))
    return out
