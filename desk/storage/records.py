"""Plain records that cross the storage boundary, so nothing outside
:mod:`desk.storage` holds an ORM object or a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from desk.model import Role, TicketStatus
from weibao.levels import Level


@dataclass(frozen=True)
class DueTimes:
    """Due times of the three SLA clocks, in UTC."""

    response: datetime
    onsite: datetime
    resolve: datetime


@dataclass(frozen=True)
class NewTicket:
    """What :meth:`StoreTx.insert_ticket` needs; the store adds id and timestamps."""

    number: str
    fingerprint: str
    rule: str
    customer: str
    contract: str
    site: str
    site_hq: bool
    timezone: str
    device: str
    level: Level
    title: str
    description: str
    labels: dict[str, str]
    detected_at: datetime
    due: DueTimes
    status: TicketStatus = TicketStatus.open
    assignee: str | None = None
    internal: bool = False
    recurrences: int = 0
    related: tuple[str, ...] = ()
    snapshot: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketRecord:
    id: int
    number: str
    fingerprint: str
    rule: str
    customer: str
    contract: str
    site: str
    site_hq: bool
    timezone: str
    device: str
    level: Level
    status: TicketStatus
    title: str
    description: str
    labels: dict[str, str]
    detected_at: datetime
    due: DueTimes
    met_response: datetime | None
    met_onsite: datetime | None
    met_resolve: datetime | None
    recovered_at: datetime | None
    last_seen_at: datetime
    evidence_count: int
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None
    internal: bool = False
    recurrences: int = 0
    related: tuple[str, ...] = ()
    snapshot: dict[str, Any] = field(default_factory=dict)
    resolved_at: datetime | None = None
    signed_off_at: datetime | None = None
    closed_at: datetime | None = None
    followup_due_at: datetime | None = None
    followup_done_at: datetime | None = None


class TicketFields(TypedDict, total=False):
    """The ticket fields that may change after opening; see :meth:`StoreTx.update_ticket`."""

    level: Level
    status: TicketStatus
    title: str
    due: DueTimes
    met_response: datetime | None
    met_onsite: datetime | None
    met_resolve: datetime | None
    recovered_at: datetime | None
    last_seen_at: datetime
    evidence_count: int
    assignee: str | None
    recurrences: int
    related: list[str]
    resolved_at: datetime | None
    signed_off_at: datetime | None
    closed_at: datetime | None
    followup_due_at: datetime | None
    followup_done_at: datetime | None


@dataclass(frozen=True)
class EventRecord:
    id: int
    ticket_id: int
    at: datetime
    kind: str
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True)
class TicketQuery:
    """Filters for listing tickets; None means any."""

    status: TicketStatus | None = None
    level: Level | None = None
    customer: str | None = None
    device: str | None = None
    limit: int = 100
    offset: int = 0
    active: bool | None = None
    """True: not closed; False: closed."""
    internal: bool | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class TokenRecord:
    id: int
    role: Role
    customer: str | None
    note: str | None
    created_at: datetime
    revoked_at: datetime | None = field(default=None)
    name: str | None = None
    site: str | None = None
    """Scope of an agent token: the site whose devices it may push for."""
    device: str | None = None
    """Scope of an agent token: the one device it may push for."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class UnknownDeviceRecord:
    """A device that pushes observations but is not in the inventory (not under contract)."""

    device: str
    first_seen: datetime
    last_seen: datetime
    observations: int
    source: str
    identity: dict[str, str]


@dataclass(frozen=True)
class PartRecord:
    part_number: str
    name: str
    quantity: int
    location: str | None
    updated_at: datetime


@dataclass(frozen=True)
class PartUseRecord:
    id: int
    ticket_id: int
    device: str
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


@dataclass(frozen=True)
class ComponentRecord:
    device: str
    part_number: str
    serial: str
    installed_at: datetime
    ticket: str | None
    removed_at: datetime | None


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    channel: str
    kind: str
    ticket: str | None
    notice: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
