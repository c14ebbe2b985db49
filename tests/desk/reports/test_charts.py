"""Charts: SVG whose text is text in the report's font stack, readable at 500 devices."""

from __future__ import annotations

import re
import warnings

from desk.reports import charts
from desk.reports.model import LevelCounts
from tests.desk.reports import samples


def test_text_is_text_in_the_reports_fonts_in_an_embeddable_svg() -> None:
    report = samples.quarterly_report()
    with warnings.catch_warnings():
        # A missing glyph (tofu) is a matplotlib UserWarning: make sure none is raised.
        warnings.simplefilter("error")
        chart = charts.tickets_by_month_chart(report.totals.by_month, "zh")
    assert chart.svg.startswith("<svg")
    assert "<style" not in chart.svg and 'style="' not in chart.svg
    assert "每月新建工单" in chart.caption
    # The Chinese legend (I级 ...) is text, in the fonts the PDF embeds, not glyph outlines
    # (a thousand <use> nodes that WeasyPrint draws one by one).
    legend = re.findall(r"<text ([^>]*)>([^<]*)</text>", chart.svg)
    assert {"I级", "II级", "III级", "IV级"} <= {body for _attributes, body in legend}
    for attributes, _body in legend:
        assert f'font-family="{charts.SVG_FONTS}"' in attributes
    assert not re.search(r'id="c\d+-(NotoSansCJK|DejaVuSans)', chart.svg)


def test_ids_are_unique_across_charts_on_one_page() -> None:
    report = samples.quarterly_report()
    first = charts.compliance_trend_chart(report.trend, "zh").svg
    second = charts.compliance_trend_chart(report.trend, "zh").svg
    ids = re.findall(r'id="([^"]+)"', first + second)
    assert len(ids) == len(set(ids))
    for reference in re.findall(r'href="#([^"]+)"', first):
        assert f'id="{reference}"' in first


def test_five_hundred_devices_show_the_thirty_least_available_and_say_so() -> None:
    report = samples.large_inspection(500)
    points = [(d.name, d.figures.availability) for d in report.devices]
    chart = charts.availability_chart(points, "zh")
    assert len(re.findall(r"<text [^>]*>ht-dev-\d+</text>", chart.svg)) == 30
    assert "490 台设备中可用率最低的 30 台" in chart.caption
    assert "10 台无数据" in chart.caption
    english = charts.availability_chart(points, "en")
    assert "30 least available of 490 devices" in english.caption
    assert "10 without data not shown" in english.caption


def test_small_and_empty_inputs() -> None:
    report = samples.inspection_report()
    chart = charts.availability_chart(
        [(d.name, d.figures.availability) for d in report.devices], "zh"
    )
    assert chart.caption.startswith("各设备可用率")
    assert "1 台无数据" in chart.caption
    assert charts.availability_chart([], "en").svg.startswith("<svg")
    assert charts.tickets_by_month_chart({"2026-10": LevelCounts()}, "en").svg
    assert charts.compliance_trend_chart([], "en").svg
