"""The workbooks hold the model's own numbers as number cells, with readable formats."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from desk.reports.model import InspectionReport, QuarterlyReport
from desk.reports.render import render
from tests.desk.reports import samples
from tests.desk.reports.test_render import save


def open_book(report: InspectionReport | QuarterlyReport, name: str) -> Workbook:
    content = render(report, "xlsx").content
    save(name, content)
    return load_workbook(io.BytesIO(content))


def rows(sheet: Worksheet) -> list[dict[str, object]]:
    values = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def column(sheet: Worksheet, title: str) -> int:
    return [cell.value for cell in sheet[1]].index(title) + 1


@pytest.fixture(scope="module")
def quarterly() -> Workbook:
    return open_book(samples.quarterly_report(), "quarterly-zh.xlsx")


def test_quarterly_sheets_have_frozen_headers_and_widths(quarterly: Workbook) -> None:
    assert quarterly.sheetnames == [
        "汇总",
        "按客户统计",
        "按合同统计",
        "按月统计",
        "按故障类型统计",
        "SLA 未达标明细",
        "工程师",
        "可用率",
        "工单最多的设备",
        "工单最多的规则",
        "备件",
        "趋势",
    ]
    for sheet in quarterly.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet["A1"].font.bold, sheet.title
        assert (sheet.column_dimensions["A"].width or 0) >= 8, sheet.title


def test_quarterly_numbers_are_the_model_numbers(quarterly: Workbook) -> None:
    report = samples.quarterly_report()
    by_customer = rows(quarterly["按客户统计"])
    assert [r["名称"] for r in by_customer] == [s.name for s in report.customers]
    for row, stats in zip(by_customer, report.customers, strict=True):
        assert row["工单"] == stats.tickets
        assert (row["I级"], row["II级"], row["III级"], row["IV级"]) == (
            stats.by_level.I,
            stats.by_level.II,
            stats.by_level.III,
            stats.by_level.IV,
        )
        assert row["响应：达标率"] == pytest.approx(stats.compliance["response"].ratio)
        assert row["解决：未达标"] == stats.compliance["resolve"].missed
        assert row["解决时长平均（小时）"] == pytest.approx(
            stats.times["resolve"].mean_seconds / 3600  # type: ignore[operator]
        )
        assert row["满意度：平均分（1-5）"] == pytest.approx(stats.satisfaction.mean)
    sheet = quarterly["按客户统计"]
    ratio = sheet.cell(row=2, column=column(sheet, "响应：达标率"))
    assert isinstance(ratio.value, float) and ratio.number_format == "0.00%"

    summary = {row["项目"]: row["数值"] for row in rows(quarterly["汇总"])}
    assert summary["工单"] == report.totals.tickets
    assert summary["重新打开率"] == pytest.approx(report.totals.reopen_rate)
    assert summary["文件编号"] == report.number
    assert "监控自身工单" not in summary  # None: not company-wide statistics
    with_internal = report.model_copy(update={"internal_tickets": 4})
    book = open_book(with_internal, "quarterly-internal.xlsx")
    assert {r["项目"]: r["数值"] for r in rows(book["汇总"])}["监控自身工单"] == 4

    misses = rows(quarterly["SLA 未达标明细"])
    assert [m["工单号"] for m in misses] == [m.ticket for m in report.misses]
    assert misses[0]["超时（小时）"] == pytest.approx(420 / 3600)
    assert misses[0]["故障级别"] == "I级" and misses[0]["时限"] == "响应"
    # Local (Shanghai) time, as Excel has no zones: 11:23 UTC is 19:23.
    assert misses[0]["应完成时间"] == datetime(2026, 11, 22, 19, 23)
    assert misses[2]["达标"] is None and misses[2]["原因"] is None

    availability = rows(quarterly["可用率"])
    assert [a["可用率"] for a in availability] == [a.availability for a in report.availability]
    trend = rows(quarterly["趋势"])
    assert [t["响应"] for t in trend] == [q.compliance["response"] for q in report.trend]
    assert trend[2]["到场/方案"] is None
    parts = rows(quarterly["备件"])
    assert [(p["备件编号"], p["数量"]) for p in parts] == [
        (p.part_number, p.quantity) for p in report.parts
    ]
    engineers = rows(quarterly["工程师"])
    assert [(e["工程师"], e["未达标次数"]) for e in engineers] == [
        (e.name, e.misses) for e in report.engineers
    ]


def test_inspection_workbook_lists_devices_and_findings() -> None:
    report = samples.inspection_report()
    book = open_book(report, "inspection-zh.xlsx")
    assert book.sheetnames[:3] == ["汇总", "设备", "发现的问题"]
    devices = rows(book["设备"])
    assert [d["设备"] for d in devices] == [d.name for d in report.devices]
    by_name = {d["设备"]: d for d in devices}
    assert by_name["ht-fw-01"]["可用率"] == pytest.approx(0.9987)
    assert by_name["ht-fw-01"]["检查结果"] == "异常"
    assert by_name["ht-fw-01"]["工单"] == samples.TICKETS[0]
    never = by_name[samples.NEVER_ANSWERED]
    assert never["检查结果"] == "未知" and never["可用率"] is None
    assert "从未应答" in str(never["原因（未知）"])
    sheet = book["设备"]
    assert sheet.cell(row=2, column=column(sheet, "可用率")).number_format == "0.00%"
    findings = rows(book["发现的问题"])
    assert [(f["工单号"], f["故障级别"]) for f in findings] == [
        (samples.TICKETS[0], "II级"),
        (samples.TICKETS[1], "I级"),
    ]
    carried = rows(book["遗留问题"])
    assert [(c["工单号"], c["已修复"]) for c in carried] == [
        (samples.CARRIED[0], "是"),
        (samples.CARRIED[1], "否"),
    ]


def test_english_workbook() -> None:
    book = open_book(samples.quarterly_report("en"), "quarterly-en.xlsx")
    assert book.sheetnames[0] == "Summary"
    assert "Response: compliance" in [c.value for c in book["By customer"][1]]
