"""The quarterly statistics, from tickets the test opens and works on a frozen clock:
per-level counts, each clock's compliance with every miss and its recorded cause, mean
and p90 times, repeat incidents, parts, satisfaction, engineers, the trend, and internal
tickets kept out of every figure."""

from __future__ import annotations

from datetime import date

import pytest

from desk import steps
from desk.reports.errors import ReportError
from desk.reports.model import QuarterlyReport
from desk.reports.quarterly import build_quarterly
from desk.storage import Store
from rules.api import Engine

from .builder_fixtures import CUSTOMER, HOUR, MIN, ReportDesk, report_desk, utc

Q4 = (date(2026, 10, 1), date(2026, 12, 31))
NOW = utc(2027, 1, 2, 1, 0)


def work_the_quarter(desk: ReportDesk) -> None:
    """Four tickets of 恒通物流 and one internal one, in the fourth quarter of 2026.

    A (ht-db-01, II): acknowledged at 25 min (20 min term: missed, "路上堵车"), on site at
    28 min, resolved at 2 h with a part and an RMA, signed off 4, closed.
    B (ht-sw-1, I): 10 min, 20 min, resolved at 3 h (4 h term), signed off 5.
    C (ht-app-01, III): 5 min; on site at 60 min (30 min term: missed, "客户门禁");
    never resolved, so its resolution clock runs past due to the quarter's end.
    D (ht-db-01 again, II, December): a repeat of A; 15 min, plan at 20 min, resolved 1 h.
    """
    a0 = utc(2026, 10, 5, 2, 0)
    a = desk.open("ht-db-01", a0)
    desk.step(a, "ack", steps.Ack(note="路上堵车"), a0 + 25 * MIN)
    desk.step(a, "arrive", steps.Arrive(), a0 + 28 * MIN)
    part = steps.Part(part_number="PSU-650", from_stock=False, rma_number="RMA-7731")
    desk.step(a, "part", part, a0 + 1 * HOUR)
    resolve = steps.Resolve(diagnosis="PSU 2 failed", cause="电源老化", actions="replaced PSU 2")
    desk.step(a, "resolve", resolve, a0 + 2 * HOUR)
    desk.push("ht-db-01", 1, a0 + 2 * HOUR + MIN)
    desk.step(a, "signoff", steps.Signoff(name="张伟", satisfaction=4), a0 + 3 * HOUR, CUSTOMER)
    desk.step(a, "close", steps.Close(), a0 + 3 * HOUR)

    b0 = utc(2026, 10, 6, 2, 0)
    b = desk.open("ht-sw-1", b0)
    desk.step(b, "ack", steps.Ack(), b0 + 10 * MIN)
    desk.step(b, "arrive", steps.Arrive(), b0 + 20 * MIN)
    desk.step(b, "resolve", resolve, b0 + 3 * HOUR)
    desk.step(b, "signoff", steps.Signoff(name="张伟", satisfaction=5), b0 + 4 * HOUR, CUSTOMER)

    c0 = utc(2026, 11, 3, 2, 0)
    c = desk.open("ht-app-01", c0)
    desk.step(c, "ack", steps.Ack(), c0 + 5 * MIN)
    desk.step(c, "arrive", steps.Arrive(note="客户门禁"), c0 + 60 * MIN)
    desk.step(c, "note", steps.Note(text="等待厂商备件"), c0 + 2 * HOUR)

    d0 = utc(2026, 12, 1, 2, 0)
    d = desk.open("ht-db-01", d0)
    desk.step(d, "ack", steps.Ack(), d0 + 15 * MIN)
    desk.step(d, "plan", steps.Plan(plan="remote restart"), d0 + 20 * MIN)
    desk.step(d, "resolve", resolve, d0 + 1 * HOUR)

    desk.internal("ht-db-01", utc(2026, 11, 20, 0, 0))


@pytest.fixture
def report(store: Store, engine: Engine) -> QuarterlyReport:
    desk = report_desk(store, engine)
    work_the_quarter(desk)
    return build_quarterly(store, desk.inventory, *Q4, NOW)


def test_tickets_per_level_month_and_rule(report: QuarterlyReport) -> None:
    totals = report.totals
    assert (totals.scope, totals.name, totals.tickets) == ("company", "上海维保科技有限公司", 4)
    assert totals.by_level.model_dump() == {"I": 1, "II": 2, "III": 1, "IV": 0}
    assert {m: c.total for m, c in totals.by_month.items()} == {
        "2026-10": 2,
        "2026-11": 1,
        "2026-12": 1,
    }
    assert totals.by_rule == {"device_unreachable": 4}
    assert report.number == "TJ-ALL-2026Q4"
    assert report.period.label == "2026-Q4"


def test_each_clock_compliance_and_every_miss_with_its_cause(report: QuarterlyReport) -> None:
    compliance = {
        k: (c.measured, c.met, c.missed, c.ratio) for k, c in report.totals.compliance.items()
    }
    assert compliance == {
        "response": (4, 3, 1, 0.75),
        "onsite": (4, 3, 1, 0.75),
        "resolve": (4, 3, 1, 0.75),
    }
    misses = [(m.clock, m.level, m.late_seconds, m.cause, m.met_at is None) for m in report.misses]
    # C's resolution was due 24 h after detection (Nov 4 02:00Z) and still ran at the
    # quarter's end (Jan 1 00:00 Shanghai = Dec 31 16:00Z): 57 days 14 hours late.
    assert misses == [
        ("response", "II", 300.0, "路上堵车", False),
        ("onsite", "III", 1800.0, "客户门禁", False),
        ("resolve", "III", 57 * 86400 + 14 * 3600.0, "等待厂商备件", True),
    ]
    assert report.misses[0].due == utc(2026, 10, 5, 2, 20)


def test_mean_and_p90_as_the_clocks_count(report: QuarterlyReport) -> None:
    times = report.totals.times
    # Acknowledged after 25, 10, 5 and 15 minutes.
    assert (times["acknowledge"].count, times["acknowledge"].mean_seconds) == (4, 825.0)
    assert times["acknowledge"].p90_seconds == 1500.0
    # On site (or plan) after 28, 20, 60 and 20 minutes.
    assert times["arrive"].mean_seconds == (28 + 20 + 60 + 20) * 60 / 4
    assert times["arrive"].p90_seconds == 3600.0
    # Resolved after 2 h, 3 h and 1 h; C is still open and not counted.
    assert (times["resolve"].count, times["resolve"].mean_seconds) == (3, 7200.0)
    assert times["resolve"].p90_seconds == 10800.0


def test_repeats_parts_satisfaction(report: QuarterlyReport) -> None:
    totals = report.totals
    assert totals.repeat_incidents == 1
    assert (totals.reopened, totals.reopen_rate) == (0, 0.0)
    assert (totals.parts_used, totals.rmas) == (1, 1)
    assert [(p.device, p.part_number, p.rma_number, p.rma_status) for p in report.parts] == [
        ("ht-db-01", "PSU-650", "RMA-7731", "open")
    ]
    assert (totals.satisfaction.count, totals.satisfaction.mean) == (2, 4.5)
    assert totals.satisfaction.distribution == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}


def test_scopes_engineers_tops_and_trend(report: QuarterlyReport) -> None:
    assert [(s.name, s.tickets) for s in report.customers] == [
        ("恒通物流", 4),
        ("Beta Hospital", 0),
    ]
    assert [(s.name, s.tickets) for s in report.contracts] == [("HT-2026-001", 4), ("BETA-2026", 0)]
    [li] = report.engineers
    assert (li.name, li.tickets, li.acknowledged, li.resolved, li.misses) == ("李强", 4, 4, 3, 3)
    assert (li.mean_acknowledge_seconds, li.mean_resolve_seconds, li.satisfaction) == (
        825.0,
        7200.0,
        4.5,
    )
    assert [(r.name, r.tickets) for r in report.top_devices] == [
        ("ht-db-01", 2),
        ("ht-app-01", 1),
        ("ht-sw-1", 1),
    ]
    assert [(p.label, p.tickets, p.compliance["response"]) for p in report.trend] == [
        ("2026-Q1", 0, None),
        ("2026-Q2", 0, None),
        ("2026-Q3", 0, None),
        ("2026-Q4", 4, 0.75),
    ]


def test_internal_tickets_only_as_a_marked_total(report: QuarterlyReport) -> None:
    assert report.internal_tickets == 1
    assert "agent_silent" not in report.totals.by_rule


def test_one_customer_gets_only_its_own(store: Store, engine: Engine) -> None:
    desk = report_desk(store, engine)
    work_the_quarter(desk)
    beta = build_quarterly(store, desk.inventory, *Q4, NOW, customer="Beta Hospital")
    assert (beta.number, beta.customer, beta.totals.tickets, beta.misses) == (
        "TJ-BETA-HOSPITAL-2026Q4",
        "Beta Hospital",
        0,
        [],
    )
    assert beta.internal_tickets is None
    contract = build_quarterly(store, desk.inventory, *Q4, NOW, contract="HT-2026-001")
    assert (contract.customer, contract.totals.scope, contract.totals.tickets) == (
        "恒通物流",
        "contract",
        4,
    )
    with pytest.raises(ReportError, match="did you mean 'HT-2026-001'") as err:
        build_quarterly(store, desk.inventory, *Q4, NOW, contract="HT-2026-01")
    assert err.value.suggestion == "HT-2026-001"


def test_availability_within_the_contracts_service_hours(store: Store, engine: Engine) -> None:
    """beta-his (Mon-Fri 09:00-18:00 Shanghai) answers twice in working hours and fails
    twice outside them; ht-db-01 (24x7) answers once and fails once."""
    desk = report_desk(store, engine)
    desk.push("beta-his", 1, utc(2026, 10, 5, 2, 0))  # Monday 10:00
    desk.push("beta-his", 0, utc(2026, 10, 5, 12, 0))  # Monday 20:00
    desk.push("beta-his", 1, utc(2026, 10, 6, 3, 0))  # Tuesday 11:00
    desk.push("beta-his", 0, utc(2026, 10, 10, 2, 0))  # Saturday 10:00
    desk.push("ht-db-01", 0, utc(2026, 10, 7, 2, 0))
    desk.push("ht-db-01", 1, utc(2026, 10, 7, 3, 0))
    desk.roll_up(NOW)
    report = build_quarterly(store, desk.inventory, *Q4, NOW)
    rows = {a.device: (a.availability, a.service_availability) for a in report.availability}
    assert rows["beta-his"] == (0.5, 1.0)
    assert rows["ht-db-01"] == (0.5, 0.5)
    assert rows["ht-fw-1"] == (None, None)
    assert [a.device for a in report.availability] == [
        "ht-db-01",
        "ht-sw-1",
        "ht-ups-1",
        "ht-app-01",
        "ht-fw-1",
        "beta-his",
    ]


def test_times_count_only_business_hours_under_a_calendar(store: Store, engine: Engine) -> None:
    """Detected Friday 17:00, acknowledged Monday 09:30 under 09:00-18:00: 1 h 30 min."""
    desk = report_desk(store, engine)
    t = desk.open("beta-his", utc(2026, 10, 9, 9, 0))
    desk.step(t, "ack", steps.Ack(note="weekend"), utc(2026, 10, 12, 1, 30))
    report = build_quarterly(store, desk.inventory, *Q4, NOW, customer="Beta Hospital")
    ack = report.totals.times["acknowledge"]
    assert (ack.count, ack.mean_seconds, ack.p90_seconds) == (1, 5400.0, 5400.0)
    [miss] = [m for m in report.misses if m.clock == "response"]
    # Due 20 working minutes after Friday 17:00 = 17:20; met Monday 09:30.
    assert (miss.due, miss.cause) == (utc(2026, 10, 9, 9, 20), "weekend")
    assert miss.late_seconds == (utc(2026, 10, 12, 1, 30) - utc(2026, 10, 9, 9, 20)).total_seconds()


def test_the_lean_read_of_the_events_gives_the_same_facts(store: Store, engine: Engine) -> None:
    """The statistics read a dozen event kinds and only the level of an ``opened`` event;
    every fact of every ticket is what the whole log gives."""
    from desk.reports.reads import TicketScope, load_tickets
    from desk.reports.stats_tickets import EVENT_KINDS, misses, ticket_facts

    desk = report_desk(store, engine)
    work_the_quarter(desk)
    scope = TicketScope(utc(2026, 1, 1), utc(2027, 1, 1), internal=False, overlapping=False)
    full = load_tickets(store, scope)
    lean = load_tickets(store, scope, event_kinds=EVENT_KINDS, opened_level_only=True)
    assert sum(map(len, lean.events.values())) < sum(map(len, full.events.values()))
    opened = [e for evs in lean.events.values() for e in evs if e.kind == "opened"]
    assert opened and all(set(e.data) == {"level"} for e in opened)
    contexts = desk.inventory.device_index()
    a = ticket_facts(full, contexts, NOW, "Asia/Shanghai")
    b = ticket_facts(lean, contexts, NOW, "Asia/Shanghai")
    assert [
        (f.ticket.number, f.views, f.measured_clocks, f.missed_clocks, f.used_seconds) for f in a
    ] == [(f.ticket.number, f.views, f.measured_clocks, f.missed_clocks, f.used_seconds) for f in b]
    assert [(f.satisfaction, f.reopened, f.escalations, f.parts) for f in a] == [
        (f.satisfaction, f.reopened, f.escalations, f.parts) for f in b
    ]
    assert misses(a, NOW) == misses(b, NOW)
