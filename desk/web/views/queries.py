"""The console's own batch reads, through :meth:`Store.read_session`.

The queue and the dashboard order and count every open ticket on each view: 5,000
tickets must cost a handful of queries, not one per ticket, and not a replay of every
event log. :func:`standings` reads each ticket's stored clock columns (refreshed by every
step and ingest through :func:`desk.tickets.refresh_clocks`) in one light query and
checks them against the contract: a ticket whose stored due times are what its
contract's terms give from detection, with no pause, reopen or agreed due time in its
log, has exactly the clocks a replay would give, computed here without its events. Only
the others (paused ones, whose due time moves on while they wait) are replayed, their
events read in one query. Lists then read full rows and replay only what they show.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, or_, select, type_coerce

from desk import disclosure
from desk.clocks import ClockName, ClockPolicy, ClockViews, clock_views
from desk.model import EventKind, TicketStatus
from desk.storage import EventRecord, Store
from desk.storage.tables import (
    EscalationRow,
    ObservationRow,
    TicketEventRow,
    TicketRow,
)
from desk.worktime import ZERO, WorkingTime
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

# After these a ticket's stored due times are not enough: a pause moves the resolution
# clock's due time on while it lasts, pauses and reopens take time out of the share used,
# and an agreed due time is not the contract's.
IRREGULAR_KINDS = tuple(
    k.value for k in (EventKind.paused, EventKind.resumed, EventKind.reopened, EventKind.due_moved)
)
RISK_BREACH = "risk-breach"
RISK_WARN = "risk-warn"


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
    ids: tuple[int, ...] | None = None
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
        if self.ids is not None:
            conds.append(t.id.in_(self.ids))
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
    if isinstance(value, str):
        try:
            # SQLite's text is UTC without an offset; parsing it with one is five times
            # faster than datetime.replace(tzinfo=...) afterwards.
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            value = datetime.fromisoformat(value)
    parsed: datetime = value
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
    return _events_of(store, chosen)


def irregular_events(store: Store, where: LineFilter) -> dict[int, list[EventRecord]]:
    """The clock-moving events of the tickets matching ``where`` that were ever paused,
    reopened or given an agreed due time: the ones :func:`standings` must replay."""
    e = TicketEventRow
    chosen = select(e.ticket_id).where(
        e.kind.in_(IRREGULAR_KINDS),
        e.ticket_id.in_(select(TicketRow.id).where(*where.where())),
    )
    return _events_of(store, chosen)


def _events_of(store: Store, chosen: Any) -> dict[int, list[EventRecord]]:
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


@dataclass(frozen=True, slots=True)
class LevelTerms:
    """A policy's clocks at one level: their lengths (response, on site, resolution), how
    their time counts, and the share of a clock at which it is at risk."""

    terms: tuple[timedelta, timedelta, timedelta]
    worktime: WorkingTime
    escalate_at: float


class PolicyBook:
    """Each device's clock policy, made once per app (the inventory does not change
    while the desk runs), with the SPEC's defaults for devices that left it."""

    def __init__(self, inventory: Inventory) -> None:
        self._by_device = {
            name: ClockPolicy.of(ctx) for name, ctx in inventory.device_index().items()
        }
        self._defaults: dict[tuple[bool, str], ClockPolicy] = {}
        self._levels: dict[tuple[str, bool, str, Level], LevelTerms] = {}

    def of(self, line: TicketLine) -> ClockPolicy:
        return self.policy(line.device, line.site_hq, line.timezone)

    def policy(self, device: str, hq: bool, timezone: str) -> ClockPolicy:
        found = self._by_device.get(device)
        if found is not None:
            return found
        default = self._defaults.get((hq, timezone))
        if default is None:
            default = self._defaults[(hq, timezone)] = ClockPolicy.default(hq, timezone)
        return default

    def level_terms(self, device: str, hq: bool, timezone: str, level: Level) -> LevelTerms:
        """The policy's terms at ``level``, kept: a business calendar is built once, not
        once per ticket and view."""
        key = (device, hq, timezone, level)
        found = self._levels.get(key)
        if found is None:
            policy = self.policy(device, hq, timezone)
            r, o, z = (policy.term(level, name) for name in ClockName)
            found = LevelTerms((r, o, z), policy.worktime(level), policy.escalate_at)
            self._levels[key] = found
        return found


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


Pending = tuple[ClockName, datetime, str]
"""A clock not yet met: its name, due time and risk class (``risk-breach``,
``risk-warn`` or ``""``), as :func:`desk.web.views.common.risk_class` gives it."""


@dataclass(frozen=True, slots=True)
class Standing:
    """What a list needs of a ticket to order and count it: its clocks not yet met."""

    id: int
    number: str
    level: Level
    pending: tuple[Pending, ...]

    @property
    def next_due(self) -> datetime | None:
        """The earliest due time among the clocks not met (None: all met)."""
        return min(due for _n, due, _r in self.pending) if self.pending else None

    @property
    def breached(self) -> bool:
        return any(risk == RISK_BREACH for _n, _d, risk in self.pending)

    @property
    def at_risk(self) -> bool:
        """Past the escalation share on a clock not met, and none breached."""
        risks = {risk for _n, _d, risk in self.pending}
        return RISK_WARN in risks and RISK_BREACH not in risks


def standing_of(
    ticket_id: int, number: str, level: Level, views: ClockViews, escalate_at: float
) -> Standing:
    """A replayed ticket's standing (the reference the stored-column path must match)."""
    pending = []
    for name, view in views.clocks.items():
        if view.met_at is not None:
            continue
        if view.breached:
            risk = RISK_BREACH
        elif not view.paused and view.share >= escalate_at:
            risk = RISK_WARN
        else:
            risk = ""
        pending.append((name, view.due, risk))
    return Standing(ticket_id, number, level, tuple(pending))


_CLOCKS = tuple(ClockName)


def settled_pending(
    terms: LevelTerms,
    detected: datetime,
    dues: tuple[datetime, datetime, datetime],
    met: tuple[bool, bool, bool],
    now: datetime,
) -> tuple[Pending, ...] | None:
    """The clocks not met of a ticket never paused, reopened or given an agreed due time,
    from its stored due times and which clocks are met; None when a stored due time is not what the
    contract's terms give from detection (the inventory changed since, say): replay it.

    This is :func:`desk.clocks.clock_views` for a clock with one running span and no
    moves: due = start + term in counted time, share = used / (used + left)."""
    wt = terms.worktime
    out: list[Pending] = []
    for name, term, due, done in zip(_CLOCKS, terms.terms, dues, met, strict=True):
        if wt.add(detected, term) != due:
            return None
        if done:
            continue
        if now > due:
            out.append((name, due, RISK_BREACH))
            continue
        used = wt.between(detected, now)
        left = wt.between(now, due)
        share = 1.0 if used + left <= ZERO else used / (used + left)
        out.append((name, due, RISK_WARN if share >= terms.escalate_at else ""))
    return tuple(out)


_STANDING_COLUMNS = (
    TicketRow.id,
    TicketRow.number,
    TicketRow.level,
    TicketRow.device,
    TicketRow.site_hq,
    TicketRow.timezone,
    _raw_time(TicketRow.detected_at),
    _raw_time(TicketRow.due_response),
    _raw_time(TicketRow.due_onsite),
    _raw_time(TicketRow.due_resolve),
    _raw_time(TicketRow.met_response),
    _raw_time(TicketRow.met_onsite),
    _raw_time(TicketRow.met_resolve),
)
_LEVELS = {lv.value: lv for lv in Level}


def standings(
    store: Store, where: LineFilter, policies: PolicyBook, now: datetime
) -> list[Standing]:
    """Every ticket matching ``where``, newest first, with its clocks not yet met and their
    risk at ``now``: exactly what a replay of every ticket's events would give.

    Two queries (the clock columns; the events of the tickets that were ever paused,
    reopened or given an agreed due time) and a third only for tickets whose stored due
    times disagree with their contract."""
    stmt = select(*_STANDING_COLUMNS).where(*where.where()).order_by(TicketRow.id.desc())
    with store.read_session() as session:
        rows = session.connection().execute(stmt).all()
    irregular = irregular_events(store, where)
    out: list[Standing | None] = []
    unsettled: dict[int, tuple[int, Level, datetime, Any]] = {}
    for i, (tid, number, lv, device, hq, tz, det, dr, do, dz, mr, mo, mz) in enumerate(rows):
        level = _LEVELS[lv]
        terms = policies.level_terms(device, bool(hq), tz, level)
        detected = _utc(det)
        pending = None
        if tid not in irregular:
            dues = (_utc(dr), _utc(do), _utc(dz))
            met = (mr is not None, mo is not None, mz is not None)
            pending = settled_pending(terms, detected, dues, met, now)
        if pending is None:
            unsettled[tid] = (i, level, detected, (device, bool(hq), tz))
            out.append(None)
        else:
            out.append(Standing(tid, number, level, pending))
    missing = [tid for tid in unsettled if tid not in irregular]
    events = {**irregular, **(clock_events(store, ids=missing) if missing else {})}
    for tid, (i, level, detected, place) in unsettled.items():
        policy = policies.policy(*place)
        views = clock_views(policy, level, detected, events.get(tid, ()), now)
        out[i] = standing_of(tid, rows[i][1], level, views, policy.escalate_at)
    return [s for s in out if s is not None]


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
    """Whose notes the portal shows: see :func:`desk.disclosure.customer_people`."""
    return disclosure.customer_people(store, customer)


def observations(store: Store, device: str, limit: int) -> list[dict[str, Any]]:
    """The device's latest observations with their samples, newest first."""
    return store.recent_observations(device, limit)
