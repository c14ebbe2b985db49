"""The JSON the API answers with, as pydantic models (they also make the OpenAPI
document). Times are RFC 3339: stored and given in UTC, with the site's local time
alongside for people on site."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from desk.clocks import clock_state
from desk.model import TicketStatus
from desk.storage import EventRecord, TicketRecord
from weibao.levels import Level


class ClockOut(BaseModel):
    due: datetime
    due_local: datetime = Field(description="the due time in the site's time zone")
    met_at: datetime | None
    breached: bool = Field(description="met late, or still running past due")


class ClocksOut(BaseModel):
    response: ClockOut
    onsite: ClockOut = Field(description="on site, or plan submitted (level IV, remote fixes)")
    resolve: ClockOut


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
    clocks: ClocksOut

    @classmethod
    def build(cls, ticket: TicketRecord, now: datetime) -> TicketSummary:
        return cls(**summary_fields(ticket, now))


class TicketOut(TicketSummary):
    """A ticket with its timeline."""

    events: list[EventOut]

    @classmethod
    def build_full(
        cls, ticket: TicketRecord, events: list[EventRecord], now: datetime
    ) -> TicketOut:
        timeline = [EventOut(at=e.at, kind=e.kind, actor=e.actor, data=e.data) for e in events]
        return cls(**summary_fields(ticket, now), events=timeline)


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
        "clocks": ClocksOut(
            response=clock(ticket.due.response, ticket.met_response),
            onsite=clock(ticket.due.onsite, ticket.met_onsite),
            resolve=clock(ticket.due.resolve, ticket.met_resolve),
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
