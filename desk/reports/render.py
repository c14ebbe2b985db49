"""One report model in, one document out: HTML, PDF, XLSX or JSON.

The HTML is the source of the PDF (WeasyPrint prints it) and is self-contained: charts
are inline SVG, the logo a data: URI, the stylesheet inline, so a saved or mailed copy
loads nothing. Templates only lay out and translate; every figure comes from the model.
The report's own ``language`` picks the catalog (``desk/locale/<lang>/LC_MESSAGES/
reports.po``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from desk.i18n import level_label, translations
from desk.reports import charts
from desk.reports.labels import CLOCKS, EXPIRING, KINDS, ROLES, STATUSES, VERDICTS
from desk.reports.model import InspectionReport, QuarterlyReport

Format = Literal["html", "pdf", "xlsx", "json"]
TEMPLATES = Path(__file__).parent / "templates"
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str
    """``<number>.<ext>``, ASCII only, safe in a Content-Disposition header."""


def render(report: InspectionReport | QuarterlyReport, fmt: Format) -> Rendered:
    """The report as a document; ``fmt`` other than the four formats is a ValueError."""
    if fmt == "json":
        content = report.model_dump_json(indent=2).encode()
    elif fmt == "html":
        content = render_html(report).encode()
    elif fmt == "pdf":
        from desk.reports.pdf import html_to_pdf

        content = html_to_pdf(render_html(report))
    elif fmt == "xlsx":
        from desk.reports.xlsx import workbook

        content = workbook(report)
    else:
        raise ValueError(f"unknown report format {fmt!r}: use one of html, pdf, xlsx, json")
    return Rendered(content=content, media_type=MEDIA_TYPES[fmt], filename=filename(report, fmt))


def filename(report: InspectionReport | QuarterlyReport, ext: str) -> str:
    """``XJ-HT-202611.pdf``; anything outside ``[A-Za-z0-9._-]`` in the number becomes ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", report.number).strip("._") or "report"
    return f"{safe}.{ext}"


def render_html(report: InspectionReport | QuarterlyReport) -> str:
    """The report as one self-contained HTML page (the PDF is printed from it)."""
    env = _environment(report.language)
    extra: dict[str, Any] = {}
    if isinstance(report, InspectionReport):
        template = env.get_template("inspection.html")
        figures = {
            "availability": charts.availability_chart(
                [(d.name, d.figures.availability) for d in report.devices], report.language
            )
        }
    else:
        template = env.get_template("quarterly.html")
        extra["view"] = quarterly_view(report)
        figures = {
            "by_month": charts.tickets_by_month_chart(report.totals.by_month, report.language),
            "trend": charts.compliance_trend_chart(report.trend, report.language),
            "availability": charts.availability_chart(
                [(a.device, a.availability) for a in report.availability], report.language
            ),
        }
    return template.render(
        report=report,
        charts=figures,
        lang=report.language,
        tz=ZoneInfo(report.period.timezone),
        logo=logo_src(report.company.logo_svg),
        **extra,
    )


# --- what the quarterly template shows ----------------------------------------------------

# The PDF is what a manager reads and signs: every summary, but long lists cut to their
# head, with how many more there are; the XLSX and JSON keep every row. WeasyPrint costs
# about 0.12 s per page, so at 2,000 devices and 20,000 tickets the full lists were 245
# pages and three minutes. The HTML is printed from the same template and follows it.
MISSES_SHOWN = 30
AVAILABILITY_SHOWN = 30
SCOPES_SHOWN = 20
ENGINEERS_SHOWN = 40
PARTS_SHOWN = 30
RULES_SHOWN = 10


@dataclass(frozen=True)
class Shown:
    """The head of a list the PDF shows, and how many rows it leaves to the XLSX."""

    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class QuarterlyView:
    customers: Shown
    contracts: Shown
    rules: Shown
    misses: Shown
    engineers: Shown
    availability: Shown
    parts: Shown
    availability_bands: dict[str, int]
    """Devices at >= 99.9 %, >= 99 % (below 99.9 %), < 99 % and without data."""


def quarterly_view(report: QuarterlyReport) -> QuarterlyView:
    """The quarterly report's lists as the PDF (and HTML) shows them: the largest misses,
    the least available devices, the contracts and engineers with most tickets, the latest
    parts; every summary figure comes from the report unchanged."""
    by_tickets = lambda s: (-s.tickets, s.name)  # noqa: E731
    known = [(a.availability, a) for a in report.availability if a.availability is not None]
    unknown = [a for a in report.availability if a.availability is None]
    least = unknown + [a for _, a in sorted(known, key=lambda va: (va[0], va[1].device))]
    bands = {
        "high": sum(1 for v, _ in known if v >= 0.999),
        "mid": sum(1 for v, _ in known if 0.99 <= v < 0.999),
        "low": sum(1 for v, _ in known if v < 0.99),
        "none": len(unknown),
    }
    rules = sorted(report.totals.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    largest = sorted(report.misses, key=lambda x: (-x.late_seconds, x.due, x.ticket))
    return QuarterlyView(
        customers=_head(report.customers, SCOPES_SHOWN, by_tickets),
        contracts=_head(report.contracts, SCOPES_SHOWN, by_tickets),
        rules=Shown(rules[:RULES_SHOWN], len(rules)),
        misses=Shown(largest[:MISSES_SHOWN], len(largest)),
        engineers=_head(report.engineers, ENGINEERS_SHOWN, by_tickets),
        availability=Shown(least[:AVAILABILITY_SHOWN], len(least)),
        parts=Shown(report.parts[::-1][:PARTS_SHOWN], len(report.parts)),
        availability_bands=bands,
    )


def _head(rows: list[Any], limit: int, key: Callable[[Any], Any]) -> Shown:
    """All rows in their order when they fit, else the ``limit`` first by ``key``."""
    if len(rows) <= limit:
        return Shown(list(rows), len(rows))
    return Shown(sorted(rows, key=key)[:limit], len(rows))


# --- helpers the templates use ----------------------------------------------------------


def logo_src(logo: str | None) -> str | None:
    """The logo as an ``<img src>``: inline SVG becomes a data: URI (an ``<img>`` runs no
    script and cannot restyle the page); anything but SVG or a data: URI is ignored, so a
    logo can never make the report load a file or a URL."""
    if not logo:
        return None
    text = logo.strip()
    if text.startswith("data:image/"):
        return text
    if text.startswith("<?xml") or text.startswith("<svg"):
        return "data:image/svg+xml;base64," + base64.b64encode(text.encode()).decode()
    return None


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element."""
    plain = " .,:;!?()[]/-_%·，：；（）"
    escaped = "".join(ch if ch.isalnum() or ch in plain else f"\\{ord(ch):x} " for ch in text)
    return f'"{escaped}"'


def page_counter_css(gettext: Callable[[str], str]) -> Markup:
    """The footer's CSS ``content``: "第 x 页 / 共 y 页" or "Page x of y"."""
    text = gettext("Page %(page)s of %(pages)s")
    parts: list[str] = []
    for piece in re.split(r"(%\(pages?\)s)", text):
        if piece == "%(page)s":
            parts.append("counter(page)")
        elif piece == "%(pages)s":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts))


def _formatters(language: str) -> dict[str, Callable[..., str]]:
    gettext = translations("reports", language).gettext

    def pct(value: float | None, digits: int = 2) -> str:
        return "—" if value is None else f"{value * 100:.{digits}f}%"

    def num(value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    def value(number: float) -> str:
        return f"{number:g}"

    def local(value: datetime | None, tz: ZoneInfo) -> str:
        return "—" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def day(value: date | None) -> str:
        return "" if value is None else value.isoformat()

    def duration(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        minutes = round(seconds / 60)
        if minutes < 60:
            return gettext("%(minutes)d min") % {"minutes": minutes}
        if minutes < 48 * 60:
            return gettext("%(hours)d h %(minutes)d min") % {
                "hours": minutes // 60,
                "minutes": minutes % 60,
            }
        return gettext("%(days).1f days") % {"days": seconds / 86400}

    def label(table: dict[str, str]) -> Callable[[str], str]:
        return lambda key: gettext(table[key]) if key in table else key

    return {
        "pct": pct,
        "num": num,
        "value": value,
        "local": local,
        "day": day,
        "duration": duration,
        "level": lambda value: level_label(value, language),
        "verdict": label(VERDICTS),
        "status": label(STATUSES),
        "kind": label(KINDS),
        "clock": label(CLOCKS),
        "role": label(ROLES),
        "expiring": label(EXPIRING),
    }


@cache
def _environment(language: str) -> Environment:
    """One Jinja environment per language, with that language's catalog installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalog = translations("reports", language)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_formatters(language))
    globals_: dict[str, Any] = {
        "page_counter": page_counter_css(catalog.gettext),
        "numeral": _numeral(language),
    }
    env.globals.update(globals_)
    return env


def _numeral(language: str) -> Callable[[int], str]:
    """Section numbers as a Chinese report writes them (一、二、) or ``1.``."""
    chinese = "一二三四五六七八九十"

    def numeral(number: int) -> str:
        if language != "zh":
            return f"{number}. "
        if number <= 10:
            return chinese[number - 1] + "、"
        return "十" + chinese[number - 11] + "、"

    return numeral
