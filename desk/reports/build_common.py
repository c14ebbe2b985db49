"""What both report builders share: the cover's company, report numbers, a ticket's
state at a past moment (replayed from its events, like its clocks), its SLA clocks at
the period's end, and the two statistics the reports print (mean and 90th percentile).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from desk.clocks import ClockPolicy, ClockViews, clock_views
from desk.model import EventKind, TicketStatus
from desk.reports.errors import ReportError
from desk.reports.model import Company, LevelCounts
from desk.storage.records import EventRecord, TicketRecord
from rules.alarms import KNOWLEDGE_HEADING
from weibao.inventory.model import Customer, DeviceContext
from weibao.inventory.reports import CompanySettings

# The status each event leaves a ticket in; the other events do not change it.
_STATUS_AFTER: dict[str, TicketStatus] = {
    EventKind.opened: TicketStatus.open,
    EventKind.acknowledged: TicketStatus.acknowledged,
    EventKind.plan_submitted: TicketStatus.acknowledged,
    EventKind.arrived: TicketStatus.on_site,
    EventKind.resolved: TicketStatus.resolved,
    EventKind.closed: TicketStatus.closed,
    EventKind.auto_closed: TicketStatus.closed,
    EventKind.reopened: TicketStatus.open,
}
UNRESOLVED = frozenset({TicketStatus.open, TicketStatus.acknowledged, TicketStatus.on_site})
DONE = frozenset({TicketStatus.resolved, TicketStatus.closed})


def status_at(ticket: TicketRecord, events: Sequence[EventRecord], at: datetime) -> TicketStatus:
    """The ticket's status at ``at``, from its timeline: a report of a past month shows
    the ticket as it stood then, whatever happened to it since."""
    status = TicketStatus.open
    for ev in events:
        if ev.at >= at:
            break
        status = _STATUS_AFTER.get(ev.kind, status)
    return status


def unresolved_during(
    ticket: TicketRecord, events: Sequence[EventRecord], start: datetime, end: datetime
) -> bool:
    """Whether the ticket stood open (not resolved, not closed) at any moment of [start, end)."""
    if ticket.detected_at >= end:
        return False
    if ticket.detected_at >= start or status_at(ticket, events, start) in UNRESOLVED:
        return True
    return any(start <= ev.at < end and _STATUS_AFTER.get(ev.kind) in UNRESOLVED for ev in events)


def views_at(
    ticket: TicketRecord,
    events: Sequence[EventRecord],
    contexts: dict[str, DeviceContext],
    at: datetime,
) -> ClockViews:
    """The ticket's clocks replayed as they stood at ``at`` (later events ignored), under
    its device's contract now, or the default terms for a device that left the inventory."""
    ctx = contexts.get(ticket.device)
    policy = (
        ClockPolicy.of(ctx)
        if ctx is not None
        else ClockPolicy.default(ticket.site_hq, ticket.timezone)
    )
    seen = [ev for ev in events if ev.at <= at]
    return clock_views(policy, ticket.level, ticket.detected_at, seen, at)


def knowledge_of(ticket: TicketRecord) -> str | None:
    """The rule's advice as stored on the ticket: after the knowledge heading of the
    description, or the whole description of a rule that has none of its own (the
    rules then store the knowledge alone, see :func:`rules.alarms.to_alarm`)."""
    marker = f"{KNOWLEDGE_HEADING}:"
    if marker in ticket.description:
        text = ticket.description.split(marker, 1)[1]
    else:
        text = ticket.description
    return text.strip() or None


def count_levels(tickets: Sequence[TicketRecord]) -> LevelCounts:
    counts = {"I": 0, "II": 0, "III": 0, "IV": 0}
    for ticket in tickets:
        counts[ticket.level.value] += 1
    return LevelCounts(**counts)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile: a value that really occurred, never interpolated,
    so "90 % of tickets were acknowledged within X" is literally true."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def code_of(customer: Customer) -> str:
    """The customer's code, else an ASCII slug of its name, else a stable hash (a Chinese
    name has no letters to slug): report numbers must be the same every time."""
    if customer.code:
        return customer.code
    return slug(customer.name)


def slug(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper()
    if text:
        return text[:24]
    return "C" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()


def company_of(settings: CompanySettings, logo_dir: Path | None) -> Company:
    """The cover's company; a relative logo path is read from ``logo_dir`` (the inventory
    file's directory). A logo that cannot be read is an error, not a blank cover."""
    logo = None
    if settings.logo:
        path = Path(settings.logo)
        if not path.is_absolute() and logo_dir is not None:
            path = logo_dir / path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReportError(
                f"reports.company.logo {settings.logo!r} cannot be read ({exc.strerror}): "
                "give the path of an SVG or PNG file, relative to the inventory file"
            ) from None
        if path.suffix.lower() == ".svg":
            logo = data.decode("utf-8", errors="replace")
        else:
            mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
            logo = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return Company(
        name=settings.name, address=settings.address, phone=settings.phone, logo_svg=logo
    )


def contract_active(start: date, end: date, c_start: date, c_end: date) -> bool:
    return c_start <= end and c_end >= start
