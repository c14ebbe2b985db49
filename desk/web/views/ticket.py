"""The ticket page: everything the engineer needs before and on site, and the steps
they may take now.

The steps offered are decided by :func:`desk.workflow.offered_steps`, as for the API
and the command line: the ticket's status, the person's role, the contract (pausing
needs its reasons) and the clocks now, so a form is never shown that would be refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from desk.clocks import ClockViews, clock_views
from desk.disclosure import customer_events
from desk.model import EventKind, Role
from desk.storage import EventRecord, Store, TicketRecord
from desk.storage.records import PartUseRecord
from desk.web.views.common import (
    LONG,
    ClockCell,
    Gettext,
    clock_cells,
    level_text,
    local,
    parse_time,
    status_label,
    zone,
)
from desk.web.views.directory import Directory
from desk.web.views.queries import LineFilter, TicketLine, ticket_lines
from desk.web.views.timeline import TimelineEntry, timeline
from desk.web.views.trends import Trend, series_key, trends
from desk.workflow import offered_steps
from rules.alarms import KNOWLEDGE_HEADING
from weibao.inventory.model import DeviceContext
from weibao.numbers import format_value

HISTORY = 30


def step_names(
    ticket: TicketRecord, role: Role, views: ClockViews, pause_reasons: list[str]
) -> list[str]:
    """The steps this person may take on this ticket now, in page order: the workflow's
    own decision (:func:`desk.workflow.offered_steps`), the same the API offers."""
    return offered_steps(ticket, role, views, pause_reasons)


@dataclass(frozen=True)
class DeviceFacts:
    name: str
    kind: str
    vendor: str | None
    model: str | None
    serial: str | None
    address: str | None
    warranty_end: date | None
    warranty_expired: bool
    site: str
    site_address: str | None
    contract: str
    customer: str
    contacts: list[str]
    engineers: list[str]


def device_facts(ctx: DeviceContext | None, today: date) -> DeviceFacts | None:
    if ctx is None:
        return None
    d, contract = ctx.device, ctx.contract
    contacts = []
    if contract.customer_contact is not None:
        p = contract.customer_contact
        contacts.append(" · ".join(x for x in (p.name, p.phone, p.email) if x))
    return DeviceFacts(
        name=d.name,
        kind=d.kind.value,
        vendor=d.vendor,
        model=d.model,
        serial=d.serial,
        address=d.address,
        warranty_end=d.warranty_end,
        warranty_expired=d.warranty_end is not None and d.warranty_end < today,
        site=ctx.site.name,
        site_address=ctx.site.address,
        contract=contract.id,
        customer=ctx.customer.name,
        contacts=contacts,
        engineers=[" · ".join(x for x in (p.name, p.phone) if x) for p in ctx.site.engineers],
    )


@dataclass(frozen=True)
class Observed:
    """One observation as the page lists it."""

    at_local: str
    source: str
    ok: bool
    error: str | None
    samples: list[str]


@dataclass(frozen=True)
class SimilarTicket:
    number: str
    title: str
    status_label: str
    level_label: str
    detected_local: str
    same: str
    """``device`` or ``rule``: why it is listed."""


@dataclass(frozen=True)
class TicketPage:
    ticket: TicketRecord
    level_label: str
    status_label: str
    clocks: list[ClockCell]
    timeline: list[TimelineEntry]
    facts: DeviceFacts | None
    firing: Observed | None
    observed: list[Observed]
    trends: list[Trend]
    raw: list[tuple[str, str]]
    raw_at: str | None
    summary: str
    knowledge: str
    similar: list[SimilarTicket]
    parts: list[PartUseRecord]
    steps: list[str]
    pause_reasons: list[str]
    engineers: list[str]
    detected_local: str
    recovered_local: str | None
    signed_off: bool
    tz_now: str


def sample_text(sample: Any) -> str:
    if not isinstance(sample, dict):
        return str(sample)
    value = sample.get("value")
    shown = format_value(value) if isinstance(value, int | float) else value
    return f"{series_key(sample)} = {shown}"


def firing_keys(events: list[EventRecord]) -> list[str]:
    """The series the rule fired on (the alarm's evidence, recorded at opening): what
    the page shows first and draws, not the observation's first samples."""
    keys: list[str] = []
    for ev in events:
        samples = ev.data.get("samples") if ev.kind == EventKind.opened else None
        if isinstance(samples, list):
            keys = [series_key(s) for s in samples if isinstance(s, dict)] or keys
    return keys


def observed(obs: dict[str, Any], tz: str, limit: int = 12, first: Sequence[str] = ()) -> Observed:
    """An observation's samples, those of ``first`` (the firing series) before the rest."""
    all_samples = [s for s in obs.get("samples") or [] if isinstance(s, dict)]
    wanted = set(first)
    ordered = [s for s in all_samples if series_key(s) in wanted]
    ordered += [s for s in all_samples if series_key(s) not in wanted]
    samples = [sample_text(s) for s in ordered[:limit]]
    return Observed(
        at_local=local(parse_time(obs.get("time")), tz, LONG),
        source=str(obs.get("source", "")),
        ok=bool(obs.get("ok", True)),
        error=obs.get("error"),
        samples=samples,
    )


def split_description(description: str) -> tuple[str, str]:
    """The alarm's own text and the rule's knowledge (what to check first)."""
    text, sep, knowledge = description.partition(f"{KNOWLEDGE_HEADING}:")
    if not sep:
        return "", description.strip()
    return text.strip(), knowledge.strip()


def build_ticket_page(
    store: Store,
    directory: Directory,
    ticket: TicketRecord,
    role: Role,
    now: datetime,
    language: str,
    _: Gettext,
    own_people: set[str] | None = None,
) -> TicketPage:
    """The staff page, or with ``role`` customer the portal's (nothing internal)."""
    customer = role is Role.customer
    ctx = directory.find(ticket.device)
    tz = ticket.timezone
    policy = directory.policies.of(_line(ticket))
    events = store.ticket_events(ticket.id)
    views = clock_views(policy, ticket.level, ticket.detected_at, events, now)
    pause_reasons = list(ctx.contract.pause_reasons) if ctx else []
    shown_events = customer_events(events, own_people or set()) if customer else events
    snapshot = ticket.snapshot or {}
    fired = snapshot.get("observation") if isinstance(snapshot.get("observation"), dict) else None
    recent = [] if customer else store.recent_observations(ticket.device, HISTORY)
    wanted = firing_keys(events) or [
        series_key(s) for s in (fired or {}).get("samples") or [] if isinstance(s, dict)
    ]
    raw = snapshot.get("raw") if isinstance(snapshot.get("raw"), dict) else None
    summary, knowledge = split_description(ticket.description)
    return TicketPage(
        ticket=ticket,
        level_label=level_text(views.level, language),
        status_label=status_label(ticket.status, _),
        clocks=clock_cells(views, tz, now, policy.escalate_at, _),
        timeline=timeline(shown_events, tz, _),
        facts=device_facts(ctx, now.astimezone(zone(tz)).date()),
        firing=None if customer or fired is None else observed(fired, tz, first=wanted),
        observed=[observed(o, tz) for o in recent[:5]],
        trends=trends(recent, wanted),
        # Raw device output may show configuration: never on the portal (no contract
        # setting allows it yet).
        raw=[] if customer or raw is None else sorted((raw.get("outputs") or {}).items()),
        raw_at=None if customer or raw is None else local(parse_time(raw.get("time")), tz),
        summary=summary,
        knowledge="" if customer else knowledge,
        similar=[] if customer else similar_tickets(store, ticket, language, _),
        parts=[] if customer else store.part_uses(ticket.id),
        steps=step_names(ticket, role, views, pause_reasons),
        pause_reasons=pause_reasons,
        engineers=[p.name for p in ctx.site.engineers] if ctx else [],
        detected_local=local(ticket.detected_at, tz),
        recovered_local=local(ticket.recovered_at, tz) if ticket.recovered_at else None,
        signed_off=ticket.signed_off_at is not None,
        tz_now=local(now, tz, "%Y-%m-%dT%H:%M"),
    )


def similar_tickets(
    store: Store, ticket: TicketRecord, language: str, _: Gettext, limit: int = 5
) -> list[SimilarTicket]:
    """Earlier tickets on the same device, then of the same rule elsewhere."""
    found: dict[str, SimilarTicket] = {}
    for same, where in (
        ("device", LineFilter(device=ticket.device, exclude_id=ticket.id)),
        ("rule", LineFilter(rule=ticket.rule, exclude_id=ticket.id)),
    ):
        for line in ticket_lines(store, where, limit):
            if line.number in found or len(found) >= 2 * limit:
                continue
            found[line.number] = SimilarTicket(
                number=line.number,
                title=line.title,
                status_label=status_label(line.status, _),
                level_label=level_text(line.level, language),
                detected_local=local(line.detected_at, line.timezone),
                same=same,
            )
    return list(found.values())


def _line(t: TicketRecord) -> TicketLine:
    return TicketLine(
        t.id,
        t.number,
        t.customer,
        t.contract,
        t.site,
        t.site_hq,
        t.timezone,
        t.device,
        t.rule,
        t.level,
        t.status,
        t.title,
        t.assignee,
        t.internal,
        t.detected_at,
        t.closed_at,
    )
