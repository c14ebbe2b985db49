"""The console's own batch reads, through :meth:`Store.read_session`.

The queue and the dashboard replay the clocks of every open ticket on each view: 5,000
tickets must cost a handful of queries, not one per ticket. So tickets are read as
light rows (no snapshot, no description), and the events that move clocks are read for
all of them in one query, ordered so they can be grouped in a single pass.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, or_, select, type_coerce

from desk.clocks import ClockPolicy, ClockViews, clock_views
from desk.model import EventKind, Role, TicketStatus
from desk.storage import EventRecord, Store
from desk.storage.tables import (
    EscalationRow,
    ObservationRow,
    TicketEventRow,
    TicketRow,
    UserRow,
)
from weibao.inventory.model import Inventory
from weibao.levels import Level

# The events clock_views reads; evidence and notes, often most of a log, are skipped.
CLOCK_KINDS = tuple(
    k.value
    for k in (
        EventKind.opened,
        EventKind.level_raised,
        EventKind.acknowledged,
        EventKind.arrived,
        EventKind.plan_submitted,
        EventKind.resolved,
        EventKind.reopened,
        EventKind.paused,
        EventKind.resumed,
        EventKind.due_moved,
    )
)


DATA_KINDS = frozenset({EventKind.opened, EventKind.level_raised, EventKind.due_moved})


def _json(value: Any) -> dict[str, Any]:
    """JSON text from SQLite, or already a dict from PostgreSQL's driver."""
    if isinstance(value, str):
        decoded = json.loads(value)
        return decoded if isinstance(decoded, dict) else {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class TicketLine:
    """A ticket as lists need it: no snapshot, no description."""

    id: int
    number: str
    customer: str
    contract: str
    site: str
    site_hq: bool
    timezone: str
    device: str
    rule: str
    level: Level
    status: TicketStatus
    title: str
    assignee: str | None
    internal: bool
    detected_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class LineFilter:
    """Which tickets to read; None means any."""

    active: bool | None = None
    customer: str | None = None
    contract: str | None = None
    site: str | None = None
    device: str | None = None
    rule: str | None = None
    level: Level | None = None
    internal: bool | None = None
    exclude_id: int | None = None
    assignee: str | None = None
    mine: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None = None
    """An engineer's names and their (contract, site) pairs: assigned to them, or
    unassigned at one of their sites."""

    def where(self) -> list[ColumnElement[bool]]:
        t = TicketRow
        conds: list[ColumnElement[bool]] = []
        if self.active is not None:
            closed = t.status == TicketStatus.closed.value
            conds.append(~closed if self.active else closed)
        for column, value in (
            (t.customer, self.customer),
            (t.contract, self.contract),
            (t.site, self.site),
            (t.device, self.device),
            (t.rule, self.rule),
        ):
            if value is not None:
                conds.append(column == value)
        if self.level is not None:
            conds.append(t.level == self.level.value)
        if self.internal is not None:
            conds.append(t.internal.is_(self.internal))
        if self.exclude_id is not None:
            conds.append(t.id != self.exclude_id)
        if self.assignee is not None:
            conds.append(t.assignee == self.assignee)
        if self.mine is not None:
            names, sites = self.mine
            mine: ColumnElement[bool] = t.assignee.in_(names)
            if sites:
                here = or_(*[and_(t.contract == c, t.site == s) for c, s in sites])
                mine = or_(mine, and_(t.assignee.is_(None), here))
            conds.append(mine)
        return conds


def _raw_time(column: Any) -> Any:
    """A time column read as the driver gives it: SQLite's text is parsed by
    :func:`_utc` in C, ten times faster than the column type's processor, which matters
    when the queue reads 5,000 tickets and their events on every view."""
    return type_coerce(column, String).label(column.key)


def _utc(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _utc_or_none(value: Any) -> datetime | None:
    return None if value is None else _utc(value)


_LINE_COLUMNS = (
    TicketRow.id,
    TicketRow.number,
    TicketRow.customer,
    TicketRow.contract,
    TicketRow.site,
    TicketRow.site_hq,
    TicketRow.timezone,
    TicketRow.device,
    TicketRow.rule,
    TicketRow.level,
    TicketRow.status,
    TicketRow.title,
    TicketRow.assignee,
    TicketRow.internal,
    _raw_time(TicketRow.detected_at),
    _raw_time(TicketRow.closed_at),
)


def ticket_lines(store: Store, where: LineFilter, limit: int | None = None) -> list[TicketLine]:
    """Tickets matching ``where``, newest first."""
    stmt = select(*_LINE_COLUMNS).where(*where.where()).order_by(TicketRow.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    with store.read_session() as session:
        return [
            TicketLine(
                id=r.id,
                number=r.number,
                customer=r.customer,
                contract=r.contract,
                site=r.site,
                site_hq=bool(r.site_hq),
                timezone=r.timezone,
                device=r.device,
                rule=r.rule,
                level=Level(r.level),
                status=TicketStatus(r.status),
                title=r.title,
                assignee=r.assignee,
                internal=bool(r.internal),
                detected_at=_utc(r.detected_at),
                closed_at=_utc_or_none(r.closed_at),
            )
            for r in session.connection().execute(stmt)
        ]


def clock_events(
    store: Store, where: LineFilter | None = None, ids: Iterable[int] = ()
) -> dict[int, list[EventRecord]]:
    """The clock-moving events of every ticket matching ``where`` (else of ``ids``: a
    page's worth), in timeline order."""
    chosen: Any = select(TicketRow.id).where(*where.where()) if where is not None else list(ids)
    e = TicketEventRow
    stmt = (
        select(e.id, e.ticket_id, _raw_time(e.at), e.kind, e.actor, type_coerce(e.data, String))
        .where(e.ticket_id.in_(chosen))
        .where(e.kind.in_(CLOCK_KINDS))
        .order_by(e.ticket_id, e.at, e.id)
    )
    out: dict[int, list[EventRecord]] = defaultdict(list)
    with store.read_session() as session:
        for r in session.connection().execute(stmt):
            # Only these kinds' data moves a clock; the others' need not be decoded.
            data = _json(r[5]) if r.kind in DATA_KINDS else {}
            out[r.ticket_id].append(
                EventRecord(r.id, r.ticket_id, _utc(r.at), r.kind, r.actor, data)
            )
    return out


class PolicyBook:
    """Each device's clock policy, made once per app (the inventory does not change
    while the desk runs), with the SPEC's defaults for devices that left it."""

    def __init__(self, inventory: Inventory) -> None:
        self._by_device = {
            name: ClockPolicy.of(ctx) for name, ctx in inventory.device_index().items()
        }

    def of(self, line: TicketLine) -> ClockPolicy:
        found = self._by_device.get(line.device)
        return found if found is not None else ClockPolicy.default(line.site_hq, line.timezone)


def replay_all(
    lines: Iterable[TicketLine],
    events: dict[int, list[EventRecord]],
    policies: PolicyBook,
    now: datetime,
) -> dict[int, ClockViews]:
    """Every ticket's clocks at ``now``, replayed from its events (no query)."""
    return {
        line.id: clock_views(
            policies.of(line), line.level, line.detected_at, events.get(line.id, ()), now
        )
        for line in lines
    }


@dataclass(frozen=True)
class EscalationLine:
    number: str
    customer: str
    title: str
    level: Level
    timezone: str
    clock: str
    step: str
    at: datetime


def recent_escalations(store: Store, limit: int = 20) -> list[EscalationLine]:
    """The latest escalation steps of tickets not yet closed."""
    t, e = TicketRow, EscalationRow
    stmt = (
        select(t.number, t.customer, t.title, t.level, t.timezone, e.clock, e.step, e.at)
        .join(t, t.id == e.ticket_id)
        .where(t.status != TicketStatus.closed.value)
        .order_by(e.at.desc(), e.id.desc())
        .limit(limit)
    )
    with store.read_session() as session:
        return [
            EscalationLine(r[0], r[1], r[2], Level(r[3]), r[4], r[5], r[6], r[7])
            for r in session.execute(stmt)
        ]


def open_counts(store: Store) -> dict[tuple[str, str, bool], int]:
    """Tickets not closed by (customer, level, internal)."""
    t = TicketRow
    stmt = (
        select(t.customer, t.level, t.internal, func.count())
        .where(t.status != TicketStatus.closed.value)
        .group_by(t.customer, t.level, t.internal)
    )
    with store.read_session() as session:
        return {(c, lv, bool(i)): int(n) for c, lv, i, n in session.execute(stmt)}


def last_ok_since(store: Store, since: datetime) -> dict[str, datetime]:
    """Each device's latest successful inspection at or after ``since``."""
    o = ObservationRow
    stmt = (
        select(o.device, func.max(o.time))
        .where(and_(o.time >= since, o.ok.is_(True)))
        .group_by(o.device)
    )
    with store.read_session() as session:
        return {d: at for d, at in session.execute(stmt)}


@dataclass(frozen=True)
class LastObservation:
    time: datetime
    ok: bool
    error: str | None


def last_observation(store: Store, device: str) -> LastObservation | None:
    """The device's latest observation of any kind: why it has no good inspection."""
    o = ObservationRow
    stmt = select(o.time, o.ok, o.error).where(o.device == device).order_by(o.time.desc()).limit(1)
    with store.read_session() as session:
        row = session.execute(stmt).first()
    return None if row is None else LastObservation(row[0], bool(row[1]), row[2])


def customer_people(store: Store, customer: str) -> set[str]:
    """Display names of the customer's own console accounts: whose notes the portal
    shows (anyone else's note on a ticket is our staff's)."""
    stmt = select(UserRow.display_name).where(
        UserRow.role == Role.customer.value, UserRow.customer == customer
    )
    with store.read_session() as session:
        return {str(n) for n in session.scalars(stmt)}


def observations(store: Store, device: str, limit: int) -> list[dict[str, Any]]:
    """The device's latest observations with their samples, newest first."""
    return store.recent_observations(device, limit)
