"""The inspection report of 恒通物流 for November 2026, from observations pushed through
the desk, rolled up, and tickets worked on a frozen clock: every device's verdict and
figures, the evidence of each 异常, the finding left open in October and its fix, the
devices never reached, expiring contracts and warranties, advice and signers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from desk import steps
from desk.reports.errors import ReportError
from desk.reports.inspection import build_inspection
from desk.reports.model import DeviceResult, InspectionReport
from desk.storage import Store
from rules.api import Engine

from .builder_fixtures import MIN, ReportDesk, report_desk, utc

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
NOW = utc(2026, 12, 1, 1, 0)  # 09:00 on 1 December in Shanghai
RESOLVE = steps.Resolve(diagnosis="mysqld crashed", cause="内存不足", actions="restarted mysqld")


def october_and_november(desk: ReportDesk) -> None:
    """ht-ups-1 fails on 20 October and is acknowledged, not fixed; it answers again on
    10 November. ht-db-01 is inspected daily in November at 10:00 local and fails once,
    on the 15th (resolved on the 16th). ht-sw-1 answers once; ht-app-01 twice refuses
    the connection; ht-fw-1 never reports. An internal ticket on ht-db-01 must not show."""
    e0 = utc(2026, 10, 20, 2, 0)
    ups = desk.open("ht-ups-1", e0)
    desk.step(ups, "ack", steps.Ack(), e0 + 10 * MIN)
    desk.roll_up(utc(2026, 10, 31, 0, 0))

    for day in range(1, 31):
        at = utc(2026, 11, day, 2, 0)
        samples = [
            {"name": "cpu_usage_ratio", "value": 0.75 if day == 10 else 0.25},
            {
                "name": "filesystem_usage_ratio",
                "labels": {"mountpoint": "/var"},
                "value": 0.875 if day == 20 else 0.5,
            },
            {"name": "filesystem_usage_ratio", "labels": {"mountpoint": "/"}, "value": 0.625},
            {
                "name": "temperature_celsius",
                "labels": {"sensor": "cpu1"},
                "value": 61.5 if day == 7 else 40,
            },
        ]
        if day == 15:
            db = desk.open(
                "ht-db-01",
                at,
                samples=samples,
                raw={"systemctl --failed": "mysqld.service loaded failed failed MySQL"},
            )
        else:
            desk.push("ht-db-01", 1, at, samples=samples, full=day in (3, 17))
        if day == 16:
            desk.step(db, "ack", steps.Ack(), at + MIN)
            desk.step(db, "resolve", RESOLVE, at + 30 * MIN)
        if day == 2:
            desk.push("ht-sw-1", 1, at)
        if day == 5:
            desk.open("ht-app-01", at, error="ConnectError: connection refused")
        if day == 6:
            desk.push("ht-app-01", 0, at, error="ConnectError: connection refused")
        if day == 10:
            ups_samples = [
                {"name": "ups_battery_charge_ratio", "value": 0.5},
                {"name": "ups_battery_minutes_remaining", "value": 12},
                {"name": "ups_on_battery", "value": 0},
            ]
            desk.push("ht-ups-1", 1, at, samples=ups_samples)
        if day == 20:
            desk.internal("ht-db-01", at)
    desk.roll_up(NOW)


@pytest.fixture
def desk(store: Store, engine: Engine) -> ReportDesk:
    desk = report_desk(store, engine)
    october_and_november(desk)
    return desk


@pytest.fixture
def report(desk: ReportDesk) -> InspectionReport:
    return build_inspection(desk.store, desk.inventory, "恒通物流", *NOVEMBER, NOW)


def device(report: InspectionReport, name: str) -> DeviceResult:
    return next(d for d in report.devices if d.name == name)


def test_cover_number_and_signers(report: InspectionReport) -> None:
    assert report.number == "XJ-HTWL-202611"
    assert (report.customer, report.customer_code, report.period.label) == (
        "恒通物流",
        "HTWL",
        "2026-11",
    )
    assert report.company.name == "上海维保科技有限公司"
    assert [c.id for c in report.contracts] == ["HT-2026-001"]
    assert [(s.role, s.name, s.date) for s in report.signers] == [
        ("prepared", "李强", date(2026, 12, 1)),
        ("checked", "王磊", None),
        ("approved", "陈总", None),
        ("engineer", "李强", None),
        ("customer", "张伟", None),
    ]
    assert report.inspection_dates == [date(2026, 11, 3), date(2026, 11, 17)]


def test_verdicts_and_summary(report: InspectionReport) -> None:
    verdicts = {d.name: d.verdict for d in report.devices}
    assert verdicts == {
        "ht-db-01": "findings",
        "ht-sw-1": "healthy",
        "ht-ups-1": "findings",
        "ht-app-01": "unknown",
        "ht-fw-1": "unknown",
    }
    s = report.summary
    assert (s.devices, s.inspected, s.healthy, s.findings, s.unknown) == (5, 3, 1, 2, 2)


def test_figures_of_a_device_up_29_of_30_days(report: InspectionReport) -> None:
    f = device(report, "ht-db-01").figures
    assert f.availability == 29 / 30
    assert round(f.availability, 4) == 0.9667
    assert f.inspections == 30
    assert (f.cpu.mean, f.cpu.peak) == (8 / 30, 0.75)
    assert f.fullest_storage is not None and f.hottest is not None
    assert (f.fullest_storage.name, f.fullest_storage.value) == ("/var", 0.875)
    assert (f.hottest.name, f.hottest.value) == ("cpu1", 61.5)
    ups = device(report, "ht-ups-1").figures
    assert ups.ups is not None
    assert (ups.ups.charge_min, ups.ups.minutes_remaining_min, ups.ups.on_battery_samples) == (
        0.5,
        12.0,
        0,
    )
    assert device(report, "ht-sw-1").figures.ups is None


def test_every_finding_has_its_evidence(report: InspectionReport) -> None:
    db = device(report, "ht-db-01")
    [evidence] = db.evidence
    assert db.findings == [evidence.ticket]
    assert (evidence.level, evidence.rule) == ("II", "device_unreachable")
    assert [(s.name, s.value) for s in evidence.samples] == [("up", 0.0)]
    assert evidence.raw == {"systemctl --failed": "mysqld.service loaded failed failed MySQL"}
    app = device(report, "ht-app-01")
    assert app.evidence[0].raw == {"error": "ConnectError: connection refused"}


def test_a_device_never_reached_or_never_reporting_is_unknown_with_why(
    report: InspectionReport, desk: ReportDesk
) -> None:
    app = device(report, "ht-app-01")
    assert app.unknown_reason == (
        "本期 2 次巡检均未得到应答；最后错误：ConnectError: connection refused"
        "；最后一次上报 2026-11-06 02:00 UTC"
    )
    assert app.last_seen == utc(2026, 11, 6, 2, 0)
    fw = device(report, "ht-fw-1")
    assert (fw.unknown_reason, fw.last_seen) == (
        "本期未收到任何巡检结果（采集器或 agent 未上报）",
        None,
    )
    english = build_inspection(desk.store, desk.inventory, "HTWL", *NOVEMBER, NOW, language="en")
    assert device(english, "ht-fw-1").unknown_reason == (
        "never reported: no inspection result reached the desk in the period"
    )


def test_findings_and_ticket_counts_leave_internal_tickets_out(report: InspectionReport) -> None:
    rows = [(f.device, f.level, f.status, f.cause) for f in report.findings]
    assert rows == [
        ("ht-ups-1", "II", "acknowledged", None),
        ("ht-app-01", "III", "open", None),
        ("ht-db-01", "II", "resolved", "内存不足"),
    ]
    t = report.tickets
    assert t.opened.model_dump() == {"I": 0, "II": 1, "III": 1, "IV": 0}
    assert t.resolved.model_dump() == {"I": 0, "II": 1, "III": 0, "IV": 0}
    assert t.still_open.model_dump() == {"I": 0, "II": 1, "III": 1, "IV": 0}


def test_the_finding_left_open_in_october_is_carried_and_fixed(
    report: InspectionReport, desk: ReportDesk
) -> None:
    [carried] = report.carried_over
    assert (carried.device, carried.status, carried.fixed, carried.fixed_at) == (
        "ht-ups-1",
        "acknowledged",
        True,
        utc(2026, 11, 10, 2, 0),
    )
    # Built on 9 November, before the UPS answered again: still carried, not fixed.
    early = build_inspection(desk.store, desk.inventory, "恒通物流", *NOVEMBER, utc(2026, 11, 9))
    assert [(c.device, c.fixed) for c in early.carried_over] == [("ht-ups-1", False)]
    # October's report lists it as a finding of its own month, not a carried one.
    october = build_inspection(
        desk.store, desk.inventory, "恒通物流", date(2026, 10, 1), date(2026, 10, 31), NOW
    )
    assert [(f.device, f.status) for f in october.findings] == [("ht-ups-1", "acknowledged")]
    assert october.carried_over == []
    # December: the UPS's fix was confirmed in November, so it is no longer carried;
    # ht-app-01's November finding never cleared and is carried in its place.
    december = build_inspection(
        desk.store, desk.inventory, "恒通物流", date(2026, 12, 1), date(2026, 12, 31), NOW
    )
    assert [(c.device, c.status, c.fixed) for c in december.carried_over] == [
        ("ht-app-01", "open", False)
    ]


def test_expiring_advice_and_unmanaged(report: InspectionReport) -> None:
    assert [(e.kind, e.name, e.days_left) for e in report.expiring] == [
        ("warranty", "ht-ups-1", 46),
        ("contract", "HT-2026-001", 62),
    ]
    [advice] = report.recommendations
    assert (advice.rule, advice.advice) == (
        "device_unreachable",
        "Check the device and its uplink first.",
    )
    assert advice.devices == ["ht-app-01", "ht-db-01", "ht-ups-1"]
    assert report.unmanaged == []


def test_unknown_names_suggest_the_closest(desk: ReportDesk) -> None:
    with pytest.raises(ReportError, match="did you mean '恒通物流'") as err:
        build_inspection(desk.store, desk.inventory, "恒通物", *NOVEMBER, NOW)
    assert err.value.suggestion == "恒通物流"
    with pytest.raises(ReportError, match="no contract 'HT-2025' for customer 恒通物流"):
        build_inspection(desk.store, desk.inventory, "恒通物流", *NOVEMBER, NOW, contract="HT-2025")


def test_the_same_month_gives_the_same_report(desk: ReportDesk, report: InspectionReport) -> None:
    again = build_inspection(desk.store, desk.inventory, "恒通物流", *NOVEMBER, NOW)
    assert again == report
    later = build_inspection(
        desk.store, desk.inventory, "恒通物流", *NOVEMBER, NOW + timedelta(days=40)
    )
    assert later.number == report.number
    assert later.findings == report.findings


def test_rollup_totals_fold_the_daily_buckets_the_way_the_figures_need(
    desk: ReportDesk,
) -> None:
    """RollupReads.totals folds in SQL what series gives row by row: sums, extremes, the
    newest value and the newest note, per device, series and labels."""
    from desk.storage.rollups import RollupReads

    t0, t1 = utc(2026, 10, 31, 16, 0), utc(2026, 11, 30, 16, 0)
    reads = RollupReads(desk.store)
    names = ["ht-db-01", "ht-app-01"]
    rows = reads.series(t0, t1, devices=names)
    totals = reads.totals(t0, t1, devices=names)
    assert totals
    for tot in totals:
        mine = [
            r
            for r in rows
            if (r.device, r.series, r.labels) == (tot.device, tot.series, tot.labels)
        ]
        valued = [r for r in mine if r.count]
        assert tot.buckets == len(mine)
        assert tot.count == sum(r.count for r in mine)
        assert tot.sum == pytest.approx(sum(r.sum for r in mine))
        assert tot.max == max(r.max for r in valued)
        assert tot.min == min(r.min for r in valued)
        newest = max(valued, key=lambda r: r.last_at)
        assert (tot.last, tot.last_at) == (newest.last, newest.last_at)
        notes = [r.note for r in mine if r.note]
        assert tot.note == (notes[-1] if notes else None)
    keys = [(t.device, t.series, t.labels.get("mountpoint", "")) for t in totals]
    assert keys == sorted(keys)
    full = reads.bucket_starts(t0, t1, "inspection_full", devices=["ht-db-01"])
    assert full == sorted({r.start for r in rows if r.series == "inspection_full" and r.count})


def test_evidence_keeps_the_output_the_rule_asks_for_first_and_counts_its_lines() -> None:
    from desk.reports.inspection import RAW_KEYS, _by_relevance

    keys = ["uptime", "df -hP", "free -m", "ipmitool sdr", "error"]
    assert _by_relevance(keys, ["filesystem_full", "filesystem_usage_ratio"])[0] == "df -hP"
    assert _by_relevance(keys, ["power_supply_failed", "power_supply_ok"])[0] == "ipmitool sdr"
    assert _by_relevance(keys, ["device_unreachable", "up"])[0] == "error"
    assert _by_relevance(keys, ["something_else"]) == keys
    assert RAW_KEYS == 2
