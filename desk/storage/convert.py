"""ORM rows into plain records: the only place that knows both shapes."""

from __future__ import annotations

from desk.model import Role, TicketStatus
from desk.storage.records import DueTimes, EventRecord, TicketRecord, TokenRecord
from desk.storage.tables import ApiTokenRow, TicketEventRow, TicketRow
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
    )
