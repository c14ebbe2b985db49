"""ORM rows into plain records: the only place that knows both shapes."""

from __future__ import annotations

from desk.model import Role, TicketStatus
from desk.storage.records import (
    ComponentRecord,
    DueTimes,
    EventRecord,
    OutboxRecord,
    PartRecord,
    PartUseRecord,
    TicketRecord,
    TokenRecord,
)
from desk.storage.tables import (
    ApiTokenRow,
    DeviceComponentRow,
    OutboxRow,
    PartRow,
    PartUseRow,
    TicketEventRow,
    TicketRow,
)
from weibao.levels import Level


def ticket_record(row: TicketRow) -> TicketRecord:
    return TicketRecord(
        id=row.id,
        number=row.number,
        fingerprint=row.fingerprint,
        rule=row.rule,
        customer=row.customer,
        contract=row.contract,
        site=row.site,
        site_hq=row.site_hq,
        timezone=row.timezone,
        device=row.device,
        level=Level(row.level),
        status=TicketStatus(row.status),
        title=row.title,
        description=row.description,
        labels=dict(row.labels),
        detected_at=row.detected_at,
        due=DueTimes(row.due_response, row.due_onsite, row.due_resolve),
        met_response=row.met_response,
        met_onsite=row.met_onsite,
        met_resolve=row.met_resolve,
        recovered_at=row.recovered_at,
        last_seen_at=row.last_seen_at,
        evidence_count=row.evidence_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        assignee=row.assignee,
        internal=row.internal,
        recurrences=row.recurrences,
        related=tuple(row.related or ()),
        snapshot=dict(row.snapshot or {}),
        resolved_at=row.resolved_at,
        signed_off_at=row.signed_off_at,
        closed_at=row.closed_at,
        followup_due_at=row.followup_due_at,
        followup_done_at=row.followup_done_at,
    )


def event_record(row: TicketEventRow) -> EventRecord:
    return EventRecord(row.id, row.ticket_id, row.at, row.kind, row.actor, dict(row.data))


def token_record(row: ApiTokenRow) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        role=Role(row.role),
        customer=row.customer,
        note=row.note,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        name=row.name,
        site=row.site,
        device=row.device,
    )


def part_record(row: PartRow) -> PartRecord:
    return PartRecord(row.part_number, row.name, row.quantity, row.location, row.updated_at)


def part_use_record(row: PartUseRow) -> PartUseRecord:
    return PartUseRecord(
        id=row.id,
        ticket_id=row.ticket_id,
        device=row.device,
        at=row.at,
        actor=row.actor,
        part_number=row.part_number,
        name=row.name,
        quantity=row.quantity,
        from_stock=row.from_stock,
        serial_out=row.serial_out,
        serial_in=row.serial_in,
        rma_number=row.rma_number,
        rma_status=row.rma_status,
    )


def component_record(row: DeviceComponentRow) -> ComponentRecord:
    return ComponentRecord(
        row.device, row.part_number, row.serial, row.installed_at, row.ticket, row.removed_at
    )


def outbox_record(row: OutboxRow) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        channel=row.channel,
        kind=row.kind,
        ticket=row.ticket,
        notice=dict(row.notice),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )
