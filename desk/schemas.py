"""The JSON the API answers with, as pydantic models (they also make the OpenAPI
document). Times are RFC 3339: stored and given in UTC, with the site's local time
alongside for people on site."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from desk.clocks import (
    ClockName,
    ClockView,
    ClockViews,
    clock_state,
    is_advisory,
    public_name,
)
from desk.model import TicketStatus
from desk.storage import EventRecord, TicketRecord
from desk.storage.records import PartUseRecord
from weibao.levels import Level


class DueMoveOut(BaseModel):
    """A due time moved by agreement with the customer."""

    at: datetime
    previous: datetime
    due: datetime
    reason: str
    agreed_by: str
    by: str


class ClockOut(BaseModel):
    due: datetime
    due_local: datetime = Field(description="the due time in the site's time zone")
    met_at: datetime | None
    breached: bool = Field(description="met late, or still running past due")
    paused: bool = Field(default=False, description="the resolution clock is paused")
    used: float | None = Field(
        default=None, description="share of the time to the due time used so far (1.0 = due)"
    )
    moves: list[DueMoveOut] = Field(default_factory=list)


class ClocksOut(BaseModel):
    """The three clocks; the second is ``onsite`` at levels I to III (stopped by arriving,
    or by a plan for a remote fix) and ``plan`` at level IV (stopped by a plan): exactly
    one of the two is given."""

    response: ClockOut
    onsite: ClockOut | None = Field(
        default=None, description="levels I-III: on site, or plan submitted for a remote fix"
    )
    plan: ClockOut | None = Field(default=None, description="level IV: plan submitted")
    resolve: ClockOut

    @model_serializer(mode="wrap")
    def _one_second_clock(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("onsite", "plan"):
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @classmethod
    def of(cls, level: Level, response: ClockOut, second: ClockOut, resolve: ClockOut) -> ClocksOut:
        key = public_name(ClockName.onsite, level)
        return cls(response=response, resolve=resolve, **{key: second})


class EventOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    data: dict[str, Any]


class TicketSummary(BaseModel):
    """A ticket without its timeline, as listed."""

    id: int
    number: str = Field(examples=["WB-2026-000123"])
    customer: str
    contract: str
    site: str
    device: str
    level: Level
    status: TicketStatus
    title: str
    description: str
    fingerprint: str
    rule: str
    labels: dict[str, str]
    detected_at: datetime
    detected_at_local: datetime
    timezone: str = Field(description="the site's IANA time zone")
    recovered_at: datetime | None = Field(description="when the fault cleared by itself")
    last_seen_at: datetime
    evidence_count: int
    assignee: str | None = Field(description="the engineer in charge (定人服务)")
    internal: bool = Field(description="monitoring's own fault, for our operations team")
    recurrences: int = Field(description="times the fault came back and reopened this ticket")
    related: list[str] = Field(description="earlier tickets of the same fault")
    resolved_at: datetime | None
    closed_at: datetime | None
    followup_due_at: datetime | None = Field(description="when the follow-up call (回访) is due")
    followup_done_at: datetime | None
    clocks: ClocksOut | None = Field(
        description="the SLA clocks; none on an advisory (a warranty or contract ending, "
        "for the service manager): no clock runs on it"
    )

    @classmethod
    def build(cls, ticket: TicketRecord, now: datetime) -> TicketSummary:
        return cls(**summary_fields(ticket, now))


class PartUseOut(BaseModel):
    id: int
    at: datetime
    actor: str
    part_number: str
    name: str
    quantity: int
    from_stock: bool
    serial_out: str | None
    serial_in: str | None
    rma_number: str | None
    rma_status: str | None


class TicketOut(TicketSummary):
    """A ticket with its timeline, clocks replayed from it, parts and diagnostic snapshot."""

    events: list[EventOut]
    parts: list[PartUseOut] = Field(default_factory=list)
    snapshot: dict[str, Any] = Field(
        default_factory=dict,
        description="the observation that fired the rule and the device's recent history",
    )
    allowed_steps: list[str] = Field(default_factory=list, description="steps possible now")

    @classmethod
    def build_full(
        cls,
        ticket: TicketRecord,
        events: list[EventRecord],
        now: datetime,
        views: ClockViews | None = None,
        parts: list[PartUseRecord] | None = None,
        allowed: list[str] | None = None,
    ) -> TicketOut:
        timeline = [EventOut(at=e.at, kind=e.kind, actor=e.actor, data=e.data) for e in events]
        fields = summary_fields(ticket, now)
        if views is not None:
            fields["clocks"] = clocks_from_views(views, ticket.timezone)
        return cls(
            **fields,
            events=timeline,
            parts=[
                PartUseOut(**{k: getattr(p, k) for k in PartUseOut.model_fields})
                for p in parts or []
            ],
            snapshot=ticket.snapshot,
            allowed_steps=allowed or [],
        )


def clocks_from_views(views: ClockViews, timezone: str) -> ClocksOut | None:
    if not views.timed:
        return None
    zone = ZoneInfo(timezone)

    def out(view: ClockView) -> ClockOut:
        return ClockOut(
            due=view.due,
            due_local=view.due.astimezone(zone),
            met_at=view.met_at,
            breached=view.breached,
            paused=view.paused,
            used=round(view.share, 3),
            moves=[DueMoveOut(**vars(m)) for m in view.moves],
        )

    return ClocksOut.of(
        views.level,
        out(views[ClockName.response]),
        out(views[ClockName.onsite]),
        out(views[ClockName.resolve]),
    )


class TicketList(BaseModel):
    items: list[TicketSummary]
    total: int = Field(description="tickets matching the filters, beyond this page too")
    limit: int
    offset: int


class IngestAnswer(BaseModel):
    accepted: int = Field(description="observations stored now")
    duplicates: int = Field(description="observations already stored (a replay), ignored")
    unknown_devices: list[str] = Field(
        description="devices not in the inventory; their observations are stored anyway"
    )
    tickets_opened: list[str]


class Problem(BaseModel):
    where: str
    message: str


class ErrorOut(BaseModel):
    error: str = Field(examples=["unauthorized"])
    message: str
    problems: list[Problem] | None = None


class HealthOut(BaseModel):
    status: str
    database: str


def summary_fields(ticket: TicketRecord, now: datetime) -> dict[str, Any]:
    zone = ZoneInfo(ticket.timezone)

    def clock(due: datetime, met_at: datetime | None) -> ClockOut:
        state = clock_state(due, met_at, now)
        return ClockOut(
            due=state.due,
            due_local=state.due.astimezone(zone),
            met_at=state.met_at,
            breached=state.breached,
        )

    return {
        "id": ticket.id,
        "number": ticket.number,
        "customer": ticket.customer,
        "contract": ticket.contract,
        "site": ticket.site,
        "device": ticket.device,
        "level": ticket.level,
        "status": ticket.status,
        "title": ticket.title,
        "description": ticket.description,
        "fingerprint": ticket.fingerprint,
        "rule": ticket.rule,
        "labels": ticket.labels,
        "detected_at": ticket.detected_at,
        "detected_at_local": ticket.detected_at.astimezone(zone),
        "timezone": ticket.timezone,
        "recovered_at": ticket.recovered_at,
        "last_seen_at": ticket.last_seen_at,
        "evidence_count": ticket.evidence_count,
        "assignee": ticket.assignee,
        "internal": ticket.internal,
        "recurrences": ticket.recurrences,
        "related": list(ticket.related),
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "followup_due_at": ticket.followup_due_at,
        "followup_done_at": ticket.followup_done_at,
        "clocks": None
        if is_advisory(ticket.labels)
        else ClocksOut.of(
            ticket.level,
            clock(ticket.due.response, ticket.met_response),
            clock(ticket.due.onsite, ticket.met_onsite),
            clock(ticket.due.resolve, ticket.met_resolve),
        ),
    }


class UnknownDeviceOut(BaseModel):
    """A server or device that reports to the desk but is not under any contract."""

    device: str = Field(description="the name it reported")
    first_seen: datetime
    last_seen: datetime
    observations: int
    source: str
    identity: dict[str, str] = Field(description="hostname, machine_id, dmi_serial as reported")


class UnknownDeviceList(BaseModel):
    items: list[UnknownDeviceOut]


class PartIn(BaseModel):
    part_number: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=100000)
    location: str | None = Field(default=None, max_length=200)


class PartOut(BaseModel):
    part_number: str
    name: str
    quantity: int
    location: str | None
    updated_at: datetime


class RmaIn(BaseModel):
    status: str = Field(pattern="^(open|shipped|received|closed)$")


class ComponentOut(BaseModel):
    part_number: str
    serial: str
    installed_at: datetime
    ticket: str | None
    removed_at: datetime | None


class NotificationOut(BaseModel):
    """A queued notification: pending, sent, or failed (given up after retries)."""

    id: int
    channel: str
    kind: str
    ticket: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class WhoAmI(BaseModel):
    name: str | None = Field(description="the person the token was issued to (--name)")
    actor: str = Field(description="how ticket steps taken with this token are recorded")
    role: str
    customer: str | None
