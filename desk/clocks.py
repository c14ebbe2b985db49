"""The three SLA clocks of a ticket: response, on site (plan, at level IV), resolution.

Each runs from the fault's detection with the length the contract sets for the level
and site (headquarters are served faster), counted 24x7 or in the contract's business
hours. Clock state is never stored as a running total: :func:`clock_views` replays the
ticket's event log, so a level change, a pause, a reopen or an agreed new due time
cannot lose or double-count time, and a calendar edit applies to every open ticket.
Due times are UTC; the site's time zone is for display only. Pure: "now" is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from desk.model import EventKind
from desk.storage.records import DueTimes, EventRecord
from desk.worktime import ZERO, AlwaysOn, BusinessHours, WorkingTime
from weibao.inventory.model import Calendar, DeviceContext
from weibao.levels import DEFAULT_SLA, Level, SlaTerms


class ClockName(StrEnum):
    """The three clocks as the desk keeps them (database columns, escalation claims).

    The second is called ``plan`` on level IV tickets, where what stops it is a
    remediation plan, not an arrival (:func:`public_name`); ``ClockName("plan")``
    reads that name back, so either name stored in an event replays the same clock."""

    response = "response"
    onsite = "onsite"
    resolve = "resolve"

    @classmethod
    def _missing_(cls, value: object) -> ClockName | None:
        return cls.onsite if value == PLAN else None


PLAN = "plan"


def public_name(clock: ClockName, level: Level) -> str:
    """What people and the API call the clock at this level: ``plan`` for level IV's
    second clock (plan within 4 h), ``onsite`` for levels I to III."""
    return PLAN if clock is ClockName.onsite and level is Level.IV else clock.value


MANAGEMENT = "management"
"""The ``audience`` label of advisories (warranty or contract ending, end of support):
planned service for the contract's service manager, not a fault with SLA clocks."""


def is_advisory(labels: Mapping[str, Any]) -> bool:
    """An advisory's ticket runs no SLA clock: nothing is promised on it to the customer,
    so nothing breaches or escalates. ``category: advisory`` keeps tickets opened by an
    older rule pack, whose alarms had no audience, from running clocks too."""
    return labels.get("audience") == MANAGEMENT or labels.get("category") == "advisory"


# Which events stop each clock: any later step implies the earlier ones were done.
MEETS: dict[ClockName, frozenset[str]] = {
    ClockName.response: frozenset(
        {EventKind.acknowledged, EventKind.arrived, EventKind.plan_submitted, EventKind.resolved}
    ),
    ClockName.onsite: frozenset({EventKind.arrived, EventKind.plan_submitted, EventKind.resolved}),
}


@dataclass(frozen=True)
class ClockPolicy:
    """What a contract says about a ticket's clocks: terms per level, site, calendar."""

    sla: dict[Level, SlaTerms]
    hq: bool
    calendar: Calendar | None = None
    timezone: str = "Asia/Shanghai"
    escalate_at: float = 0.8
    travel_time: timedelta | None = None

    @classmethod
    def of(cls, ctx: DeviceContext) -> ClockPolicy:
        return cls(
            sla={level: ctx.sla(level) for level in Level},
            hq=ctx.site.hq,
            calendar=ctx.contract.calendar,
            timezone=ctx.site.timezone,
            escalate_at=ctx.contract.escalate_at,
            travel_time=ctx.site.travel_time,
        )

    @classmethod
    def default(cls, hq: bool, timezone: str = "Asia/Shanghai") -> ClockPolicy:
        """For a ticket whose device has left the inventory: the SPEC's default terms."""
        return cls(sla=dict(DEFAULT_SLA), hq=hq, timezone=timezone)

    def term(self, level: Level, clock: ClockName) -> timedelta:
        terms = self.sla[level]
        if clock is ClockName.response:
            return terms.response
        if clock is ClockName.onsite:
            return terms.onsite(self.hq)
        return terms.resolve

    def worktime(self, level: Level) -> WorkingTime:
        if self.calendar is None or level not in self.calendar.levels:
            return AlwaysOn()
        return BusinessHours(self.calendar, self.timezone)


def compute_due(terms: SlaTerms, hq: bool, detected_at: datetime) -> DueTimes:
    """Due times from detection, 24x7; raises ValueError for a naive detection time."""
    if detected_at.tzinfo is None:
        raise ValueError("detection time must be timezone-aware")
    start = detected_at.astimezone(UTC)
    return DueTimes(
        response=start + terms.response,
        onsite=start + terms.onsite(hq),
        resolve=start + terms.resolve,
    )


def due_for(ctx: DeviceContext, level: Level, detected_at: datetime) -> DueTimes:
    """Due times of a fresh ticket under the device's contract, at its site, for this level."""
    views = clock_views(ClockPolicy.of(ctx), level, detected_at, [], detected_at)
    return views.due


@dataclass(frozen=True)
class ClockState:
    """One clock as shown to people: when it is due, when it was met, whether it broke."""

    due: datetime
    met_at: datetime | None
    breached: bool


def clock_state(due: datetime, met_at: datetime | None, now: datetime) -> ClockState:
    """A met clock is breached if met late; a running one once ``now`` is past due."""
    breached = met_at > due if met_at is not None else now > due
    return ClockState(due=due, met_at=met_at, breached=breached)


@dataclass(frozen=True)
class DueMove:
    """A due time moved by agreement with the customer; the old one is kept."""

    at: datetime
    previous: datetime
    due: datetime
    reason: str
    agreed_by: str
    by: str


@dataclass(frozen=True)
class ClockView:
    """One clock, replayed from the event log at ``now``."""

    name: ClockName
    term: timedelta
    due: datetime
    met_at: datetime | None
    breached: bool
    paused: bool
    used: timedelta
    """Counted time used so far (until met), pauses excluded."""
    share: float
    """Used share of the time to the due time: 0.8 is the default escalation point."""
    moves: tuple[DueMove, ...] = ()


@dataclass(frozen=True)
class ClockViews:
    level: Level
    clocks: dict[ClockName, ClockView] = field(default_factory=dict)
    timed: bool = True
    """False for an advisory: no clock runs (each is met at detection, so nothing
    escalates, lists as due or counts as at risk); pages and the API show none."""

    @property
    def due(self) -> DueTimes:
        c = self.clocks
        return DueTimes(
            c[ClockName.response].due, c[ClockName.onsite].due, c[ClockName.resolve].due
        )

    def __getitem__(self, name: ClockName) -> ClockView:
        return self.clocks[name]


@dataclass
class _Replay:
    """What the event log says, gathered in one pass."""

    level: Level
    met: dict[ClockName, datetime | None]
    pauses: list[tuple[datetime, datetime | None]]
    moves: dict[ClockName, list[DueMove]]
    timed: bool = True


def _replay(level: Level, events: Sequence[EventRecord]) -> _Replay:
    state = _Replay(level, dict.fromkeys(ClockName), [], {c: [] for c in ClockName})
    paused_since: datetime | None = None
    for ev in events:
        kind = ev.kind
        if kind == EventKind.opened and isinstance(ev.data.get("labels"), dict):
            state.timed = not is_advisory(ev.data["labels"])
        if kind == EventKind.opened and "level" in ev.data:
            state.level = Level(ev.data["level"])
        elif kind == EventKind.level_raised:
            state.level = Level(ev.data["to"])
            # An agreement was made for the old level; the new level's terms apply.
            for moves in state.moves.values():
                moves.clear()
        for clock, kinds in MEETS.items():
            if kind in kinds and state.met[clock] is None:
                state.met[clock] = ev.at
        if kind == EventKind.resolved:
            state.met[ClockName.resolve] = ev.at
            if paused_since is not None:
                state.pauses.append((paused_since, ev.at))
                paused_since = None
        elif kind == EventKind.reopened:
            # The time the ticket stood resolved does not count against the engineer.
            resolved_at = state.met[ClockName.resolve]
            if resolved_at is not None:
                state.pauses.append((resolved_at, ev.at))
            state.met[ClockName.resolve] = None
        elif kind == EventKind.paused and paused_since is None:
            paused_since = ev.at
        elif kind == EventKind.resumed and paused_since is not None:
            state.pauses.append((paused_since, ev.at))
            paused_since = None
        elif kind == EventKind.due_moved:
            clock = ClockName(ev.data["clock"])
            state.moves[clock].append(_move(ev))
    if paused_since is not None:
        state.pauses.append((paused_since, None))
    return state


def _move(ev: EventRecord) -> DueMove:
    data: dict[str, Any] = ev.data
    return DueMove(
        at=ev.at,
        # UTC like every other time (older moves kept the offset they were typed with).
        previous=datetime.fromisoformat(data["previous"]).astimezone(UTC),
        due=datetime.fromisoformat(data["due"]).astimezone(UTC),
        reason=str(data["reason"]),
        agreed_by=str(data["agreed_by"]),
        by=ev.actor,
    )


def clock_views(
    policy: ClockPolicy,
    level: Level,
    detected_at: datetime,
    events: Sequence[EventRecord],
    now: datetime,
) -> ClockViews:
    """Every clock of a ticket at ``now``, from its detection time and event log.

    ``level`` is the level at opening; level raises in the log take over from it.
    """
    replay = _replay(level, events)
    wt = policy.worktime(replay.level)
    views = {}
    for name in ClockName:
        pauses = replay.pauses if name is ClockName.resolve else []
        views[name] = _view(
            name,
            policy.term(replay.level, name),
            wt,
            detected_at,
            replay.met[name] if replay.timed else detected_at,
            pauses,
            replay.moves[name],
            now,
        )
    return ClockViews(replay.level, views, replay.timed)


def _running(
    start: datetime, pauses: Sequence[tuple[datetime, datetime | None]]
) -> list[tuple[datetime, datetime | None]]:
    """The spans in which a clock runs: from ``start``, minus the pauses (open end = None)."""
    spans: list[tuple[datetime, datetime | None]] = []
    cursor: datetime | None = start
    for p_start, p_end in sorted(pauses, key=lambda p: p[0]):
        if cursor is None:
            break
        if p_start > cursor:
            spans.append((cursor, p_start))
        if p_end is None:
            cursor = None
        elif p_end > cursor:
            cursor = p_end
    if cursor is not None:
        spans.append((cursor, None))
    return spans


def _view(
    name: ClockName,
    term: timedelta,
    wt: WorkingTime,
    start: datetime,
    met_at: datetime | None,
    pauses: Sequence[tuple[datetime, datetime | None]],
    moves: Sequence[DueMove],
    now: datetime,
) -> ClockView:
    end = met_at if met_at is not None else now
    spans = _running(start, pauses)
    used = sum((wt.between(a, min(b, end) if b else end) for a, b in spans), ZERO)
    # Paused: not met, and the last running span has ended (or the clock never ran).
    paused = met_at is None and (not spans or spans[-1][1] is not None)
    due = moves[-1].due if moves else _due(term, wt, spans, now)
    breached = met_at > due if met_at is not None else now > due
    left = wt.between(end, due)
    share = 1.0 if used + left <= ZERO else used / (used + left)
    if end > due:
        share = max(share, 1.0)
    return ClockView(name, term, due, met_at, breached, paused, used, share, tuple(moves))


def _due(
    term: timedelta,
    wt: WorkingTime,
    spans: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
) -> datetime:
    """When the running spans use up ``term``; while paused, as if resumed now."""
    left = term
    for a, b in spans:
        room = wt.between(a, b) if b is not None else None
        if room is None or left <= room:
            return wt.add(a, left)
        left -= room
    # Paused (the last span is closed) with time left: projected from now.
    return wt.add(now, left)
