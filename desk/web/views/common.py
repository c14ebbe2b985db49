"""Wording shared by the pages: translated labels, times in a site's zone, clock cells.

Every page speaks the reader's language through a :data:`Gettext` (the ``console``
catalog) handed in by the route, so these functions stay pure and testable in both
languages without a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desk.clocks import ClockName, ClockView, ClockViews, public_name
from desk.i18n import level_label, translations
from desk.model import TicketStatus
from weibao.levels import Level

Gettext = Callable[[str], str]
SHORT = "%m-%d %H:%M"
LONG = "%Y-%m-%d %H:%M"
CLOCK_ORDER = (ClockName.response, ClockName.onsite, ClockName.resolve)


def gettext_for(language: str) -> Gettext:
    """The ``console`` catalog's gettext for ``zh`` or ``en`` (English is the source)."""
    return translations("console", language).gettext


@cache
def zone(name: str | None) -> tzinfo:
    """A site's time zone; an unknown name shows UTC rather than failing the page."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local(at: datetime | None, tz: str | None, fmt: str = LONG) -> str:
    """A stored UTC time as the site reads it, or ``-``."""
    if at is None:
        return "-"
    return at.astimezone(zone(tz)).strftime(fmt)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 string from a snapshot or event, aware (UTC when it says nothing)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def span(seconds: float, _: Gettext) -> str:
    """``3d 4h``, ``2h 5m``, ``12m``: what console.js writes too, so both read alike."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    d, h, m = _("d"), _("h"), _("m")
    if days:
        return f"{days}{d} {hours}{h}" if hours else f"{days}{d}"
    if hours:
        return f"{hours}{h} {mins}{m}" if mins else f"{hours}{h}"
    return f"{mins}{m}" if mins else _("<1m")


def until(due: datetime, now: datetime, _: Gettext) -> str:
    """``in 12m`` or ``overdue 5m``."""
    left = (due - now).total_seconds()
    if left >= 0:
        return _("in %(time)s") % {"time": span(left, _)}
    return _("overdue %(time)s") % {"time": span(left, _)}


def level_text(level: Level | str, language: str) -> str:
    return level_label(str(level), language)


def status_label(status: TicketStatus | str, _: Gettext) -> str:
    labels = {
        TicketStatus.open: _("open"),
        TicketStatus.acknowledged: _("acknowledged"),
        TicketStatus.on_site: _("on site"),
        TicketStatus.resolved: _("resolved"),
        TicketStatus.closed: _("closed"),
    }
    return labels.get(TicketStatus(status), str(status))


def clock_label(name: ClockName | str, _: Gettext, level: Level | None = None) -> str:
    """The clock in words: level IV's second clock is the plan clock; at I to III it is
    stopped by arriving (or by a plan, for a remote fix). ``name`` may be a stored
    event's (``onsite``, ``plan``, ``response``, ``resolve``)."""
    if name == "plan" or (name == ClockName.onsite and level is Level.IV):
        return _("plan")
    labels = {
        ClockName.response: _("response"),
        ClockName.onsite: _("on site or plan"),
        ClockName.resolve: _("resolution"),
    }
    try:
        return labels[ClockName(name)]
    except ValueError:
        return str(name)


def risk_class(view: ClockView, escalate_at: float) -> str:
    """The CSS class of a clock: breached (red), past the escalation share (warn), or none.

    Met clocks that broke stay red; met clocks in time carry no risk."""
    if view.breached:
        return "risk-breach"
    if view.met_at is None and not view.paused and view.share >= escalate_at:
        return "risk-warn"
    return ""


@dataclass(frozen=True)
class ClockCell:
    """One clock as a page shows it."""

    name: str
    label: str
    due: datetime
    due_local: str
    met_local: str | None
    running: bool
    paused: bool
    breached: bool
    share: float
    risk: str
    state: str
    """``met 03-02 16:03``, ``in 12m``, ``paused``, ``overdue 5m``: the words for now."""


def clock_cells(
    views: ClockViews, tz: str, now: datetime, escalate_at: float, _: Gettext
) -> list[ClockCell]:
    """The three clocks, in the order they run; none on an advisory (no clock runs)."""
    if not views.timed:
        return []
    cells = []
    for name in CLOCK_ORDER:
        view = views[name]
        if view.met_at is not None:
            met = local(view.met_at, tz, SHORT)
            state = (_("met late %(time)s") if view.breached else _("met %(time)s")) % {"time": met}
        elif view.paused:
            met, state = None, _("paused")
        else:
            met, state = None, until(view.due, now, _)
        cells.append(
            ClockCell(
                name=public_name(name, views.level),
                label=clock_label(name, _, views.level),
                due=view.due,
                due_local=local(view.due, tz, SHORT),
                met_local=met,
                running=view.met_at is None and not view.paused,
                paused=view.paused,
                breached=view.breached,
                share=view.share,
                risk=risk_class(view, escalate_at),
                state=state,
            )
        )
    return cells


def next_cell(cells: list[ClockCell]) -> ClockCell | None:
    """The clock not yet met that falls due first: what the engineer must beat next."""
    pending = [c for c in cells if c.met_local is None]
    return min(pending, key=lambda c: c.due) if pending else None


def worst_risk(cells: list[ClockCell]) -> str:
    """The gravest risk among the clocks not yet met (a ticket is as late as its worst)."""
    risks = {c.risk for c in cells if c.met_local is None}
    if "risk-breach" in risks:
        return "risk-breach"
    return "risk-warn" if "risk-warn" in risks else ""
