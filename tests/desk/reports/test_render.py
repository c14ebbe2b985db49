"""render(): every format from the same model, the catalogs complete, the HTML self-contained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from desk.reports import render as render_module
from desk.reports.model import InspectionReport, QuarterlyReport
from desk.reports.render import Rendered, filename, logo_src, render, render_html
from tests.desk.reports import samples

REPORTS = Path(render_module.__file__).parent
CATALOG = REPORTS.parent / "locale" / "zh" / "LC_MESSAGES" / "reports.po"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "reports"


def save(name: str, content: bytes) -> Path:
    """Keep what a test rendered where people can open it (test-artifacts/ is ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(content)
    return path


def visible_text(html: str) -> str:
    """The page's text without markup, style and the charts' outlines."""
    html = re.sub(r"<style.*?</style>|<svg.*?</svg>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def template_messages() -> set[str]:
    found: set[str] = set()
    for path in sorted((REPORTS / "templates").glob("*.html")):
        for _line, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(path)
        ):
            found.add(message if isinstance(message, str) else message[0])
    for name in ("render.py", "charts.py", "xlsx.py"):
        for _line, message, _comments, _context in extract_from_file("python", str(REPORTS / name)):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_chinese_translation() -> None:
    with CATALOG.open("rb") as po:
        catalog = read_po(po, locale="zh")
    messages = template_messages()
    assert len(messages) > 150
    missing = sorted(m for m in messages if not (catalog.get(m) and catalog.get(m).string))
    assert missing == []
    for message in messages:
        # The placeholders must survive translation, or formatting raises at render time.
        placeholders = sorted(re.findall(r"%\(\w+\)", message))
        assert sorted(re.findall(r"%\(\w+\)", catalog.get(message).string)) == placeholders


@pytest.mark.parametrize("fmt", ["html", "pdf", "xlsx", "json"])
def test_each_format_has_its_media_type_and_an_ascii_filename(fmt: str) -> None:
    result = render(samples.inspection_report(), fmt)  # type: ignore[arg-type]
    assert isinstance(result, Rendered)
    assert result.filename == f"XJ-HT-202611.{fmt}"
    assert (
        result.media_type.split(";")[0]
        == {
            "html": "text/html",
            "pdf": "application/pdf",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "json": "application/json",
        }[fmt]
    )
    assert result.content


def test_filename_is_ascii_safe_whatever_the_number() -> None:
    report = samples.inspection_report().model_copy(update={"number": 'XJ/恒通 "1"'})
    assert filename(report, "pdf") == "XJ_____1.pdf"
    assert filename(report.model_copy(update={"number": "恒通"}), "pdf") == "report.pdf"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="html, pdf, xlsx, json"):
        render(samples.inspection_report(), "docx")  # type: ignore[arg-type]


def test_json_is_the_model_itself() -> None:
    for report in (samples.inspection_report(), samples.quarterly_report()):
        content = render(report, "json").content
        assert json.loads(content)["number"] == report.number
        assert type(report).model_validate_json(content) == report


def test_chinese_inspection_html_shows_every_fact_a_customer_signs() -> None:
    report = samples.inspection_report()
    html = render_html(report)
    save("inspection-zh.html", html.encode())
    text = visible_text(html)
    for expected in (
        "恒通物流",
        "巡检报告",
        "文档控制",
        "编制",
        "审核",
        "批准",
        "概述",
        "发现的问题",
        "未能巡检的设备",
        "遗留问题",
        "到期提醒",
        "未纳管设备",
        "建议",
        "签字确认",
        "客户代表",
        "I级",
        "II级",
        "正常",
        "异常",
        "未知",
        "第 ",
    ):
        assert expected in text or expected in html, expected
    for device in report.devices:
        assert device.name in text
    for ticket in (*samples.TICKETS, *samples.CARRIED):
        assert ticket in text
    # The 未知 device says why; the 异常 devices show their evidence, raw output included.
    assert "整个周期内从未应答" in text
    assert "PSU2   failure  0V" in html
    assert "onBattery(3)" in html
    assert 'psu_ok{device="ht-fw-01", psu="PSU2"} = 0' in html.replace("&#34;", '"')
    # Times in the report's zone: 02:14 UTC is 10:14 in Shanghai.
    assert "2026-11-18 10:14" in text


def test_english_rendering_has_no_chinese_labels() -> None:
    report = samples.inspection_report("en")
    html = render_html(report)
    save("inspection-en.html", html.encode())
    text = visible_text(html)
    data = report.model_dump_json()
    # Customer names, titles and causes come from the data and stay as written.
    leftovers = {word for word in re.findall(r"[\u3400-\u9fff]+", text) if word not in data}
    assert leftovers == set()
    for label in ("Inspection report", "Level I", "Level II", "Healthy", "Findings", "Unknown"):
        assert label in text
    quarterly = visible_text(render_html(samples.quarterly_report("en")))
    data = samples.quarterly_report("en").model_dump_json()
    assert {w for w in re.findall(r"[\u3400-\u9fff]+", quarterly) if w not in data} == set()
    assert "Quarterly service statistics" in quarterly


def test_html_is_self_contained() -> None:
    for report in (samples.inspection_report(), samples.quarterly_report()):
        html = render_html(report)
        # Namespaces are names, not loads: only src, href, url() and @import fetch anything.
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
        assert "@import" not in html
        assert html.count("<svg") >= 1
        assert 'src="data:image/svg+xml;base64,' in html  # the logo


def test_html_escapes_the_data() -> None:
    report = samples.inspection_report().model_copy(update={"customer": "<script>x</script>"})
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_logo_is_only_svg_or_a_data_uri() -> None:
    assert logo_src(None) is None
    assert logo_src("file:///etc/passwd") is None
    assert logo_src("https://example.com/logo.png") is None
    assert logo_src("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
    assert (logo_src(samples.LOGO) or "").startswith("data:image/svg+xml;base64,")


def test_quarterly_html_lists_misses_with_their_causes() -> None:
    report = samples.quarterly_report()
    html = render_html(report)
    save("quarterly-zh.html", html.encode())
    text = visible_text(html)
    for expected in ("季度服务统计", "SLA 未达标明细", "值班工程师在机房", "仍未完成", "未记录"):
        assert expected in text
    assert "96.4%" in text  # 27 of 28 responses in time
    for engineer in report.engineers:
        assert engineer.name in text


def test_reports_without_lists_say_none() -> None:
    empty = samples.inspection_report().model_copy(
        update={
            "findings": [],
            "carried_over": [],
            "expiring": [],
            "unmanaged": [],
            "recommendations": [],
        }
    )
    assert visible_text(render_html(empty)).count("无") >= 5
    quarterly = samples.quarterly_report().model_copy(
        update={"misses": [], "parts": [], "engineers": [], "availability": [], "trend": []}
    )
    assert isinstance(render_html(quarterly), str)


def test_models_are_what_render_takes() -> None:
    assert isinstance(samples.inspection_report(), InspectionReport)
    assert isinstance(samples.quarterly_report(), QuarterlyReport)


def large_quarterly(devices: int = 2000, misses: int = 120, engineers: int = 60) -> QuarterlyReport:
    """The sample statistics grown to a company's size: long lists the PDF cuts."""
    from datetime import timedelta

    report = samples.quarterly_report()
    miss, avail, part = report.misses[0], report.availability[0], report.parts[0]
    stats = report.contracts[0]
    return report.model_copy(
        update={
            "contracts": [
                stats.model_copy(update={"name": f"C-{n:03d}", "tickets": n}) for n in range(50)
            ],
            "misses": [
                miss.model_copy(
                    update={
                        "ticket": f"WB-2026-{n:06d}",
                        "due": miss.due + timedelta(minutes=n),
                        "late_seconds": 60.0 * (n + 1),
                    }
                )
                for n in range(misses)
            ],
            "engineers": [
                report.engineers[0].model_copy(update={"name": f"工程师{n:02d}", "tickets": n})
                for n in range(engineers)
            ],
            "availability": [
                avail.model_copy(
                    update={"device": f"dev-{n:04d}", "availability": 1.0 - n / (devices * 50)}
                )
                for n in range(devices)
            ],
            "parts": [part.model_copy(update={"ticket": f"WB-2026-{n:06d}"}) for n in range(100)],
        }
    )


def test_quarterly_html_shows_the_head_of_long_lists_and_points_to_the_xlsx() -> None:
    report = large_quarterly()
    text = visible_text(render_html(report))
    # Misses: the 30 late the longest, then how many more the XLSX has.
    assert "WB-2026-000119" in text and "WB-2026-000090" in text
    assert "WB-2026-000089" not in text.split("SLA 未达标明细")[1].split("备件")[0]
    assert "此处列出 120 项中的 30 项；其余 90 项见 XLSX" in text
    # Availability: the 30 least available devices and the distribution of all 2,000.
    assert "dev-1999" in text and "dev-1970" in text and "dev-1969" not in text
    assert "此处列出 2000 项中的 30 项；其余 1970 项见 XLSX" in text
    # Contracts by tickets, engineers cut above 40, the latest parts.
    assert "C-049" in text and "C-029" not in text
    assert "工程师59" in text and "工程师19" not in text
    assert "WB-2026-000099" in text and "WB-2026-000069" not in text.split("备件")[-1]
    # Every summary figure stays.
    assert "96.4%" in text


def test_quarterly_availability_distribution_counts_every_device() -> None:
    view = render_module.quarterly_view(large_quarterly(devices=2000))
    bands = view.availability_bands
    assert sum(bands.values()) == 2000
    # availability = 1 - n / 100,000: >= 99.9 % for n <= 100, >= 99 % for n <= 1,000
    assert bands == {"high": 101, "mid": 900, "low": 999, "none": 0}
    few = render_module.quarterly_view(samples.quarterly_report())
    assert few.engineers.more == 0 and few.misses.more == 0
    assert few.availability.rows[0].device == samples.NEVER_ANSWERED


def test_evidence_is_one_bounded_block_per_device_with_findings() -> None:
    """The PDF shows one finding per 异常 device (the first: gravest, latest), one output
    cut to 10 lines with how many were left out, and the device's other tickets."""
    from desk.reports.model import Evidence

    report = samples.inspection_report("zh")
    device = next(d for d in report.devices if d.verdict == "findings")
    first = device.evidence[0]
    long = "\n".join(f"line {n}" for n in range(40)) + "\n…"
    lead = first.model_copy(
        update={"raw": {"dmesg": long, "other": "x"}, "raw_lines": {"dmesg": 60}}
    )
    extra = Evidence(
        ticket="WB-EXTRA-1", level="IV", rule="cpu_high", title="CPU", raw={"top": "hidden output"}
    )
    devices = [
        d.model_copy(update={"evidence": [lead, extra], "findings": [lead.ticket, "WB-EXTRA-1"]})
        if d.name == device.name
        else d
        for d in report.devices
    ]
    html = render_html(report.model_copy(update={"devices": devices}))
    text = visible_text(html)
    assert "line 9" in html and "line 10" not in html
    assert "… 另有 50 行" in text
    assert "hidden output" not in html and "<code>other</code>" not in html
    assert "该设备其他问题: WB-EXTRA-1" in text


def test_level_iii_evidence_is_one_line_without_device_output() -> None:
    """A 异常 device whose gravest finding is level III or IV shows its samples on one line
    (what fired, with its value), no raw output; causes are cut at 40 characters."""
    report = samples.inspection_report("zh")
    device = next(d for d in report.devices if d.verdict == "findings")
    lead = device.evidence[0].model_copy(
        update={"level": "III", "raw": {"df -h": "SECRET RAW"}, "raw_lines": {"df -h": 1}}
    )
    devices = [
        d.model_copy(update={"evidence": [lead]}) if d.name == device.name else d
        for d in report.devices
    ]
    findings = [
        f.model_copy(update={"cause": "原" * 60}) if f.ticket == lead.ticket else f
        for f in report.findings
    ]
    html = render_html(report.model_copy(update={"devices": devices, "findings": findings}))
    text = visible_text(html)
    assert "SECRET RAW" not in html
    line = next(x for x in html.splitlines() if 'class="evidence-line"' in x and device.name in x)
    sample = lead.samples[0]
    assert f"{sample.name}" in line and f"= {sample.value:g}" in line
    assert "III级" in line and lead.ticket in line
    assert "原" * 39 + "…" in text and "原" * 41 not in text
    # Every 异常 device still has its evidence in the PDF's HTML.
    for d in report.devices:
        if d.verdict == "findings":
            assert any(d.name in x for x in html.splitlines() if "evidence" in x)


def test_past_sixty_healthy_devices_and_settled_findings_print_as_lines() -> None:
    """A big customer's PDF stays fast: past 60, healthy devices and level III/IV findings
    already dealt with print as one line each, every one still there with its figures or
    its ticket, level and status; the devices with findings, and grave or open findings,
    keep their table rows. A small report keeps full tables."""
    small = render_html(samples.inspection_report("zh"))
    assert 'class="compact-line"' not in small

    report = samples.large_inspection(200)
    first = report.findings[0]
    settled = [
        first.model_copy(update={"ticket": f"WB-2026-9{n:05d}", "level": "IV", "status": "closed"})
        for n in range(70)
    ]
    grave_open = first.model_copy(
        update={"ticket": "WB-2026-800001", "level": "II", "status": "acknowledged"}
    )
    big = report.model_copy(update={"findings": [*settled, grave_open]})
    html = render_html(big)
    lines = re.findall(r'<div class="compact-line">(.*?)</div>', html, flags=re.S)
    healthy = [d for d in big.devices if d.verdict == "healthy"]
    assert len(healthy) > 60
    assert len(lines) == len(healthy) + len(settled)
    text = visible_text(html)
    assert "正常设备 (" in text and "已处理的三级、四级问题 (70)" in text
    for device in healthy[:3]:
        line = next(x for x in lines if f"<b>{device.name}</b>" in x)
        assert "CPU" in line and "%" in line
    rows = re.findall(r"<tr><td>(WB-2026-\d+)", html)
    assert rows == ["WB-2026-800001"]  # the open level II finding keeps its row
    assert sum("WB-2026-9" in x and "IV级" in x and "已关闭" in x for x in lines) == 70
