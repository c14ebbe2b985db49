"""The reports' charts, drawn with matplotlib and returned as inline SVG.

Each chart is its own :class:`~matplotlib.figure.Figure` (never pyplot, whose global figure
registry is not safe in a server). Text stays text (``<text>`` with the report's font
stack), not matplotlib's default glyph outlines: the PDF draws it with the Noto Sans CJK
it embeds anyway, a browser with its own CJK font, and a chart of outlines cost WeasyPrint
a thousand ``<use>`` nodes and about 50 MB per report. matplotlib lays the text out with
Noto Sans CJK SC from Debian's fonts-noto-cjk (registered with the font manager once, on
first use), the same face the PDF prints, so labels fit where they were placed. Element ids
are prefixed per chart, so several charts can share one HTML page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import count
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from desk.i18n import level_label, translations
from desk.reports.model import LevelCounts, QuarterPoint
from weibao.levels import Level

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FAMILY = ["Noto Sans CJK SC", "DejaVu Sans"]
SVG_FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
"""The font stack of the charts' text in the page: the report's own (see base.html)."""
LOWEST = 30
"""A chart shows at most this many devices (the least available) so it stays readable."""

_WIDTH = 6.7  # inches: the A4 text width at 20 mm margins
_INK = "#37474f"
_GRID = "#cfd8dc"
_CLOCK_COLOURS = {"response": "#1565c0", "onsite": "#ef6c00", "resolve": "#2e7d32"}
_ids = count(1)


@dataclass(frozen=True)
class Chart:
    svg: str
    """An ``<svg>`` element, without XML declaration, ready to embed in HTML."""
    caption: str


@cache
def _register_fonts() -> None:
    """Add Noto Sans CJK to matplotlib's font manager (once; a no-op where it is missing)."""
    if CJK_FONT.exists():
        font_manager.fontManager.addfont(str(CJK_FONT))


def _figure(height: float) -> Figure:
    _register_fonts()
    figure = Figure(figsize=(_WIDTH, height), layout="constrained")
    return figure


def _style(figure: Figure) -> None:
    """Our font and colours on every text of the figure (tick labels included)."""
    for axes in figure.axes:
        axes.tick_params(labelfontfamily=FAMILY, labelsize=8, colors=_INK)
        for spine in ("top", "right"):
            axes.spines[spine].set_visible(False)
        for spine in ("left", "bottom"):
            axes.spines[spine].set_color(_GRID)
        for text in axes.texts:
            text.set_fontfamily(FAMILY)
        axes.title.set_fontfamily(FAMILY)
        axes.xaxis.label.set_fontfamily(FAMILY)
        axes.yaxis.label.set_fontfamily(FAMILY)
        legend = axes.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_fontfamily(FAMILY)
    for text in figure.texts:
        text.set_fontfamily(FAMILY)


def _svg(figure: Figure) -> str:
    """The figure as an embeddable ``<svg>`` element with ids unique to this chart."""
    _style(figure)
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<!--.*?-->|<metadata>.*?</metadata>", "", text, flags=re.S)
    # In an HTML page a <style> of the chart would style the whole document, and WeasyPrint
    # reads style="" attributes as CSS (warning on every SVG property): so both become
    # SVG presentation attributes, which browsers and WeasyPrint draw the same.
    text = re.sub(r'<defs>\s*<style type="text/css">.*?</style>\s*</defs>', "", text, flags=re.S)
    text = text.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)
    text = re.sub(r'\bstyle="([^"]*)"', _attributes, text)
    text = re.sub(r'font-family="[^"]*"', f'font-family="{SVG_FONTS}"', text)
    prefix = f"c{next(_ids)}-"
    text = re.sub(r'\bid="', f'id="{prefix}', text)
    return re.sub(r'(href="#|url\(#)', lambda match: match[1] + prefix, text)


def _attributes(match: re.Match[str]) -> str:
    pairs = (item.split(":", 1) for item in match[1].split(";") if ":" in item)
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)


def _percent(value: float, _position: object = None) -> str:
    return f"{value * 100:.0f}%" if value >= 0.995 or value == 0 else f"{value * 100:.1f}%"


def availability_chart(points: Sequence[tuple[str, float | None]], language: str) -> Chart:
    """Availability per device, least available first; at most :data:`LOWEST` bars.

    Devices without data (never reached) are left out and counted in the caption, so a
    missing bar is never read as 0 %.
    """
    _ = translations("reports", language).gettext
    known = sorted(
        ((name, value) for name, value in points if value is not None),
        key=lambda point: (point[1], point[0]),
    )
    shown = known[:LOWEST]
    missing = len(points) - len(known)
    if len(known) > LOWEST:
        caption = _(
            "Availability of the %(shown)d least available of %(total)d devices "
            "(share of inspections answered)"
        ) % {"shown": len(shown), "total": len(known)}
    else:
        caption = _("Availability of each device (share of inspections answered)")
    if missing:
        caption += _("; %(count)d without data not shown") % {"count": missing}

    figure = _figure(max(1.6, 0.6 + 0.22 * len(shown)))
    axes = figure.add_subplot()
    names = [name for name, _value in shown][::-1]
    values = [value for _name, value in shown][::-1]
    if not shown:
        axes.text(0.5, 0.5, _("No data"), ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return Chart(svg=_svg(figure), caption=caption)
    lowest = min(values)
    # Availability lives near 100 %: start the axis just below the lowest bar so the
    # differences show; every bar carries its value, so nothing is misread.
    start = max(0.0, math.floor((lowest - 0.02) * 20) / 20) if lowest > 0.5 else 0.0
    colours = ["#c62828" if v < 0.95 else "#f9a825" if v < 0.99 else "#2e7d32" for v in values]
    axes.barh(range(len(values)), [v - start for v in values], left=start, color=colours)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlim(start, 1.0 + (1.0 - start) * 0.12)
    axes.xaxis.set_major_formatter(FuncFormatter(_percent))
    axes.xaxis.set_major_locator(MaxNLocator(6))
    axes.grid(axis="x", color=_GRID, linewidth=0.5)
    axes.set_axisbelow(True)
    for index, value in enumerate(values):
        axes.annotate(
            f"{value * 100:.2f}%",
            (value, index),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color=_INK,
        )
    return Chart(svg=_svg(figure), caption=caption)


def tickets_by_month_chart(by_month: Mapping[str, LevelCounts], language: str) -> Chart:
    """Tickets opened per month, stacked by fault level in the levels' own colours."""
    _ = translations("reports", language).gettext
    months = sorted(by_month)
    figure = _figure(2.6)
    axes = figure.add_subplot()
    bottoms = [0] * len(months)
    for level in Level:
        heights = [getattr(by_month[month], level.value) for month in months]
        axes.bar(
            months,
            heights,
            bottom=bottoms,
            color=level.colour,
            label=level_label(level.value, language),
            width=0.6,
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for index, total in enumerate(bottoms):
        axes.text(index, total, str(total), ha="center", va="bottom", fontsize=8, color=_INK)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max([*bottoms, 1]) * 1.15)
    axes.set_ylabel(_("Tickets"), fontsize=8)
    axes.grid(axis="y", color=_GRID, linewidth=0.5)
    axes.set_axisbelow(True)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Chart(svg=_svg(figure), caption=_("Tickets opened per month, by fault level"))


def compliance_trend_chart(trend: Sequence[QuarterPoint], language: str) -> Chart:
    """Each SLA clock's compliance over the last quarters; a quarter without data is a gap."""
    _ = translations("reports", language).gettext
    labels = {
        "response": _("Response"),
        "onsite": _("On site / plan"),
        "resolve": _("Resolution"),
    }
    quarters = [point.label for point in trend]
    figure = _figure(2.4)
    axes = figure.add_subplot()
    lowest = 1.0
    for clock, label in labels.items():
        values = [point.compliance.get(clock) for point in trend]  # type: ignore[call-overload]
        known = [v for v in values if v is not None]
        lowest = min([lowest, *known])
        axes.plot(
            quarters,
            [math.nan if v is None else v for v in values],
            marker="o",
            markersize=4,
            linewidth=1.5,
            color=_CLOCK_COLOURS[clock],
            label=label,
        )
    axes.set_ylim(max(0.0, math.floor((lowest - 0.05) * 10) / 10), 1.02)
    axes.yaxis.set_major_formatter(FuncFormatter(_percent))
    axes.set_ylabel(_("Met in time"), fontsize=8)
    axes.grid(axis="y", color=_GRID, linewidth=0.5)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Chart(svg=_svg(figure), caption=_("SLA compliance per quarter, by clock"))
