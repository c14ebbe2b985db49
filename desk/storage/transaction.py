"""The writes of one ingest, in one transaction: observations, engine state and
ticket changes commit or roll back as one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from desk.model import TicketStatus
from desk.storage.convert import event_record, ticket_record
from desk.storage.records import DueTimes, EventRecord, NewTicket, TicketFields, TicketRecord
from desk.storage.tables import (
    EngineStateRow,
    ObservationRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
)
from weibao.observation import Observation


class StoreTx:
    """The writes of one transaction; obtained from :meth:`Store.transaction`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert_observation(self, obs: Observation, known: bool, received_at: datetime) -> bool:
        """Store an observation once by its id; False when that id is already stored."""
        values = {
            "id": obs.id,
            "device": obs.device,
            "source": obs.source.value,
            "time": obs.time,
            "received_at": received_at,
            "ok": obs.ok,
            "error": obs.error,
            "samples": [s.model_dump(mode="json") for s in obs.samples],
            "meta": dict(obs.meta),
            "known_device": known,
        }
        return self._insert_ignore(ObservationRow, values, "id")

    def lock_engine_state(self, name: str, now: datetime) -> str | None:
        """Read the engine state and hold it locked until commit.

        The lock serialises evaluations across desk processes (PostgreSQL row lock; on
        SQLite the transaction already holds the write lock).
        """
        self._insert_ignore(EngineStateRow, {"name": name, "data": "", "updated_at": now}, "name")
        stmt = select(EngineStateRow).where(EngineStateRow.name == name).with_for_update()
        row = self._session.scalars(stmt).one()
        return row.data or None

    def save_engine_state(self, name: str, data: str, now: datetime) -> None:
        self._session.execute(
            update(EngineStateRow)
            .where(EngineStateRow.name == name)
            .values(data=data, updated_at=now)
        )

    def active_ticket(self, fingerprint: str) -> TicketRecord | None:
        """The ticket that is not closed for this fault, if any (locked until commit)."""
        stmt = (
            select(TicketRow)
            .where(TicketRow.fingerprint == fingerprint)
            .where(TicketRow.status != TicketStatus.closed.value)
            .with_for_update()
        )
        row = self._session.scalars(stmt).first()
        return None if row is None else ticket_record(row)

    def next_ticket_number(self, year: int) -> int:
        """The next serial number of the year, safe with several desk processes."""
        self._insert_ignore(TicketCounterRow, {"year": year, "last": 0}, "year")
        stmt = (
            update(TicketCounterRow)
            .where(TicketCounterRow.year == year)
            .values(last=TicketCounterRow.last + 1)
            .returning(TicketCounterRow.last)
        )
        return int(self._session.execute(stmt).scalar_one())

    def insert_ticket(self, ticket: NewTicket, now: datetime) -> TicketRecord:
        row = TicketRow(
            number=ticket.number,
            fingerprint=ticket.fingerprint,
            rule=ticket.rule,
            customer=ticket.customer,
            contract=ticket.contract,
            site=ticket.site,
            site_hq=ticket.site_hq,
            timezone=ticket.timezone,
            device=ticket.device,
            level=ticket.level.value,
            status=ticket.status.value,
            title=ticket.title,
            description=ticket.description,
            labels=dict(ticket.labels),
            detected_at=ticket.detected_at,
            due_response=ticket.due.response,
            due_onsite=ticket.due.onsite,
            due_resolve=ticket.due.resolve,
            last_seen_at=ticket.detected_at,
            evidence_count=0,
            created_at=now,
            updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        return ticket_record(row)

    def update_ticket(self, ticket_id: int, fields: TicketFields, now: datetime) -> TicketRecord:
        row = self._session.get(TicketRow, ticket_id)
        if row is None:
            raise LookupError(f"ticket {ticket_id} does not exist")
        for key, value in fields.items():
            if key == "due":
                assert isinstance(value, DueTimes)
                row.due_response, row.due_onsite, row.due_resolve = (
                    value.response,
                    value.onsite,
                    value.resolve,
                )
            elif key in ("level", "status"):
                setattr(row, key, str(value))
            else:
                setattr(row, key, value)
        row.updated_at = now
        self._session.flush()
        return ticket_record(row)

    def add_event(
        self, ticket_id: int, at: datetime, kind: str, actor: str, data: dict[str, Any]
    ) -> EventRecord:
        row = TicketEventRow(ticket_id=ticket_id, at=at, kind=kind, actor=actor, data=data)
        self._session.add(row)
        self._session.flush()
        return event_record(row)

    def _insert_ignore(self, table: type[Any], values: dict[str, Any], key: str) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted."""
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        columns = table.__table__.c
        stmt = (
            insert(table.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[key])
            .returning(columns[key])
        )
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        return self._session.execute(stmt).first() is not None
