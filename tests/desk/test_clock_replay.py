"""Clocks replayed from a ticket's event log: met and breached, level raises, pauses,
reopening, agreed due times and business calendars, all without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from desk.clocks import ClockName, ClockPolicy, clock_views
from desk.model import EventKind
from desk.storage import EventRecord
from weibao.inventory.model import Calendar
from weibao.levels import DEFAULT_SLA, Level

START = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
M = timedelta(minutes=1)
H = timedelta(hours=1)
R, ONSITE, X = ClockName.response, ClockName.onsite, ClockName.resolve
HQ = ClockPolicy.default(hq=True)
REMOTE = ClockPolicy.default(hq=False)


def ev(kind: EventKind, at: datetime, **data: Any) -> EventRecord:
    ev.n += 1  # type: ignore[attr-defined]
    return EventRecord(ev.n, 1, at, kind.value, "李强", data)  # type: ignore[attr-defined]


ev.n = 0  # type: ignore[attr-defined]


def opened(level: Level = Level.II) -> EventRecord:
    return ev(EventKind.opened, START, level=level.value)


def test_every_level_at_hq_and_remote_sites_gets_the_contract_terms() -> None:
    for level in Level:
        for policy, hq in ((HQ, True), (REMOTE, False)):
            views = clock_views(policy, level, START, [opened(level)], START)
            terms = DEFAULT_SLA[level]
            assert views[R].due == START + terms.response
            assert views[ONSITE].due == START + terms.onsite(hq)
            assert views[X].due == START + terms.resolve
            assert not any(views[c].breached or views[c].paused for c in ClockName)


def test_acknowledgement_meets_the_response_clock_and_a_late_one_breaches_it() -> None:
    on_time = clock_views(
        HQ, Level.II, START, [opened(), ev(EventKind.acknowledged, START + 5 * M)], START + H
    )
    assert on_time[R].met_at == START + 5 * M and not on_time[R].breached
    late = clock_views(
        HQ, Level.II, START, [opened(), ev(EventKind.acknowledged, START + 25 * M)], START + H
    )
    assert late[R].breached
    running = clock_views(HQ, Level.II, START, [opened()], START + 21 * M)
    assert running[R].met_at is None and running[R].breached


def test_arrival_meets_response_and_on_site_and_resolution_meets_all() -> None:
    views = clock_views(
        REMOTE, Level.II, START, [opened(), ev(EventKind.arrived, START + 10 * M)], START + H
    )
    assert views[R].met_at == views[ONSITE].met_at == START + 10 * M
    done = clock_views(
        REMOTE, Level.II, START, [opened(), ev(EventKind.resolved, START + H)], START + 2 * H
    )
    assert all(done[c].met_at == START + H for c in ClockName)


def test_a_level_raise_recomputes_from_detection() -> None:
    events = [
        opened(Level.III),
        ev(EventKind.level_raised, START + 3 * H, **{"from": "III", "to": "I"}),
    ]
    views = clock_views(HQ, Level.III, START, events, START + 3 * H)
    assert views.level is Level.I
    assert views[X].due == START + 4 * H  # level I: 4 h from detection, not from the raise


def test_a_pause_moves_the_resolution_due_time_by_its_length() -> None:
    events = [
        opened(),
        ev(EventKind.paused, START + 2 * H, reason="vendor part"),
        ev(EventKind.resumed, START + 5 * H),
    ]
    views = clock_views(HQ, Level.II, START, events, START + 6 * H)
    assert views[X].due == START + 24 * H + 3 * H
    assert not views[X].paused
    assert views[X].used == 3 * H  # 2 h before the pause, 1 h after
    assert views[R].due == START + 20 * M  # pauses are for the resolution clock only


def test_while_paused_the_due_time_is_projected_and_never_breaches() -> None:
    events = [opened(), ev(EventKind.paused, START + 2 * H, reason="customer window")]
    later = START + 30 * H
    views = clock_views(HQ, Level.II, START, events, later)
    assert views[X].paused and not views[X].breached
    assert views[X].due == later + 22 * H


def test_a_clock_breached_before_the_pause_stays_breached() -> None:
    events = [opened(), ev(EventKind.paused, START + 25 * H, reason="vendor part")]
    views = clock_views(HQ, Level.II, START, events, START + 26 * H)
    assert views[X].breached and views[X].due == START + 24 * H


def test_the_time_a_ticket_stood_resolved_does_not_count_after_a_reopen() -> None:
    events = [
        opened(),
        ev(EventKind.resolved, START + 2 * H),
        ev(EventKind.reopened, START + 10 * H, reason="fan failed again"),
    ]
    views = clock_views(HQ, Level.II, START, events, START + 11 * H)
    assert views[X].met_at is None
    assert views[X].due == START + 24 * H + 8 * H
    assert views[R].met_at == START + 2 * H  # the first response stands


def test_an_agreed_due_time_replaces_the_computed_one_and_keeps_the_old() -> None:
    agreed = START + 48 * H
    events = [
        opened(),
        ev(
            EventKind.due_moved,
            START + H,
            clock="resolve",
            due=agreed.isoformat(),
            previous=(START + 24 * H).isoformat(),
            reason="customer's maintenance window on Friday",
            agreed_by="陈静",
        ),
    ]
    views = clock_views(HQ, Level.II, START, events, START + 30 * H)
    assert views[X].due == agreed and not views[X].breached
    [move] = views[X].moves
    assert move.previous == START + 24 * H and move.agreed_by == "陈静"
    raised = [*events, ev(EventKind.level_raised, START + 31 * H, **{"from": "II", "to": "I"})]
    assert clock_views(HQ, Level.II, START, raised, START + 31 * H)[X].due == START + 4 * H


def test_a_business_calendar_applies_only_to_the_levels_it_names() -> None:
    cal = Calendar(hours="09:00-18:00", levels=["III", "IV"])
    policy = ClockPolicy(sla=dict(DEFAULT_SLA), hq=True, calendar=cal, timezone="Asia/Shanghai")
    friday_5pm = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    minor = clock_views(policy, Level.III, friday_5pm, [], friday_5pm)
    # 20 min of response: 17:00-17:20 Friday; 30 min on site: 17:30; 24 h of resolution is
    # 24 working hours (2 h 40 min... counted in 9-hour days): Friday 1 h, Mon 9, Tue 9, Wed 5.
    assert minor[R].due == friday_5pm + 20 * M
    assert minor[X].due == datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # Wednesday 14:00
    critical = clock_views(policy, Level.I, friday_5pm, [], friday_5pm)
    assert critical[X].due == friday_5pm + 4 * H  # level I runs 24x7


def test_share_of_the_clock_used_is_what_escalation_reads() -> None:
    views = clock_views(HQ, Level.II, START, [opened()], START + 16 * M)
    assert abs(views[R].share - 0.8) < 1e-9
    assert views[X].share < 0.02
