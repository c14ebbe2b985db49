"""All database access of the desk: :class:`Store` for reads and tokens, and
:meth:`Store.transaction` yielding a :class:`~desk.storage.transaction.StoreTx` for the
writes that must happen together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from desk.model import Role, TicketStatus
from desk.storage import database
from desk.storage.convert import (
    component_record,
    event_record,
    outbox_record,
    part_record,
    part_use_record,
    ticket_record,
    token_record,
)
from desk.storage.records import (
    ComponentRecord,
    EventRecord,
    OutboxRecord,
    PartRecord,
    PartUseRecord,
    TicketQuery,
    TicketRecord,
    TokenRecord,
    UnknownDeviceRecord,
)
from desk.storage.tables import (
    ApiTokenRow,
    DeviceComponentRow,
    EngineDeviceRow,
    EscalationRow,
    ObservationRow,
    OutboxRow,
    PartRow,
    PartUseRow,
    TicketEventRow,
    TicketRow,
)
from desk.storage.transaction import StoreTx
from weibao.logs import log_event

_log = logging.getLogger("weibao.desk.storage")


class Store:
    """The desk's database. Sessions live inside the methods; callers get records."""

    def __init__(self, url: str) -> None:
        self.url = database.parse_db_url(url)
        self._engine = database.create_db_engine(self.url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            database.read_engine(self._engine), expire_on_commit=False
        )

    @property
    def display_url(self) -> str:
        return database.display_url(self.url)

    def migrate(self) -> None:
        """Bring the schema up to date (idempotent)."""
        try:
            before = database.current_revision(self._engine)
            database.upgrade(self._engine)
            after = database.current_revision(self._engine)
        except OperationalError as exc:
            raise database.DatabaseError(
                f"cannot migrate the database {self.display_url}: {_reason(exc)}; check "
                "--db (or WEIBAO_DB) and that the database server is running"
            ) from exc
        if after != before:
            log_event(_log, "database.migrated", db=self.display_url, before=before, after=after)

    def schema_revision(self) -> str | None:
        return database.current_revision(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """Commit on success, roll back on any exception."""
        with self._begin() as session:
            yield StoreTx(session)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A read session (never writes: on SQLite it does not wait for the write lock);
        a database that does not answer becomes StoreUnavailable."""
        try:
            with self._read_sessions() as session:
                yield session
        except OperationalError as exc:
            raise database.StoreUnavailable(_reason(exc)) from exc

    @contextmanager
    def _begin(self) -> Iterator[Session]:
        """A session in a transaction, committed on success."""
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) in database.CONFLICT_STATES:
                raise database.WriteConflict(_reason(exc)) from exc
            raise database.StoreUnavailable(_reason(exc)) from exc

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read session for the storage modules that keep their own queries
        (rollups, reports, web accounts), so this class does not grow without end."""
        with self._session() as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session in a transaction, committed on success (see :meth:`read_session`)."""
        with self._begin() as session:
            yield session

    def ping(self) -> None:
        """Raise if the database does not answer (used by /healthz)."""
        with self._session() as session:
            session.execute(select(1)).scalar_one()

    # --- tickets -------------------------------------------------------------------

    def get_ticket(self, key: int | str) -> TicketRecord | None:
        """A ticket by id, or by number (``WB-2026-000123``)."""
        with self._session() as session:
            if isinstance(key, int) or key.isdigit():
                row = session.get(TicketRow, int(key))
            else:
                row = session.scalars(select(TicketRow).where(TicketRow.number == key)).first()
            return None if row is None else ticket_record(row)

    def list_tickets(self, query: TicketQuery) -> list[TicketRecord]:
        stmt = _filtered(select(TicketRow), query).order_by(TicketRow.id.desc())
        with self._session() as session:
            rows = session.scalars(stmt.limit(query.limit).offset(query.offset))
            return [ticket_record(row) for row in rows]

    def count_tickets(self, query: TicketQuery) -> int:
        stmt = _filtered(select(func.count()).select_from(TicketRow), query)
        with self._session() as session:
            return int(session.execute(stmt).scalar_one())

    def ticket_events(self, ticket_id: int) -> list[EventRecord]:
        stmt = (
            select(TicketEventRow)
            .where(TicketEventRow.ticket_id == ticket_id)
            .order_by(TicketEventRow.at, TicketEventRow.id)
        )
        with self._session() as session:
            return [event_record(row) for row in session.scalars(stmt)]

    def active_ticket_ids(self) -> list[int]:
        """Tickets not closed, oldest first: what escalation and auto-close look at."""
        stmt = select(TicketRow.id).where(TicketRow.status != TicketStatus.closed.value)
        with self._session() as session:
            return list(session.scalars(stmt.order_by(TicketRow.id)))

    def followups_due(self, now: datetime) -> list[TicketRecord]:
        """Closed tickets whose follow-up call (回访) is due and not yet done."""
        stmt = (
            select(TicketRow)
            .where(TicketRow.followup_due_at <= now)
            .where(TicketRow.followup_done_at.is_(None))
            .order_by(TicketRow.followup_due_at)
        )
        with self._session() as session:
            return [ticket_record(row) for row in session.scalars(stmt)]

    def open_counts(self) -> dict[tuple[str, bool], int]:
        """Tickets not closed, by (level, internal): for /metrics."""
        stmt = (
            select(TicketRow.level, TicketRow.internal, func.count())
            .where(TicketRow.status != TicketStatus.closed.value)
            .group_by(TicketRow.level, TicketRow.internal)
        )
        with self._session() as session:
            return {(lv, bool(i)): int(n) for lv, i, n in session.execute(stmt)}

    def escalations(self, ticket_id: int) -> list[tuple[str, str, datetime]]:
        stmt = (
            select(EscalationRow.clock, EscalationRow.step, EscalationRow.at)
            .where(EscalationRow.ticket_id == ticket_id)
            .order_by(EscalationRow.id)
        )
        with self._session() as session:
            return [(c, st, at) for c, st, at in session.execute(stmt)]

    # --- parts -----------------------------------------------------------------------

    def stock_part(
        self, part_number: str, name: str, quantity: int, location: str | None, now: datetime
    ) -> PartRecord:
        """Add parts to the stock (a new part number is created)."""
        with self._begin() as session:
            row = session.scalars(
                select(PartRow).where(PartRow.part_number == part_number).with_for_update()
            ).first()
            if row is None:
                row = PartRow(
                    part_number=part_number,
                    name=name,
                    quantity=0,
                    location=location,
                    updated_at=now,
                )
                session.add(row)
            row.quantity += quantity
            if location:
                row.location = location
            row.updated_at = now
            session.flush()
            return part_record(row)

    def parts(self) -> list[PartRecord]:
        with self._session() as session:
            rows = session.scalars(select(PartRow).order_by(PartRow.part_number))
            return [part_record(row) for row in rows]

    def part_uses(
        self, ticket_id: int | None = None, open_rma: bool = False
    ) -> list[PartUseRecord]:
        stmt = select(PartUseRow).order_by(PartUseRow.id)
        if ticket_id is not None:
            stmt = stmt.where(PartUseRow.ticket_id == ticket_id)
        if open_rma:
            stmt = stmt.where(PartUseRow.rma_number.is_not(None)).where(
                PartUseRow.rma_status != "closed"
            )
        with self._session() as session:
            return [part_use_record(row) for row in session.scalars(stmt)]

    def update_rma(self, use_id: int, status: str, now: datetime) -> PartUseRecord | None:
        with self._begin() as session:
            row = session.get(PartUseRow, use_id)
            if row is None or row.rma_number is None:
                return None
            row.rma_status = status
            row.rma_updated_at = now
            session.flush()
            return part_use_record(row)

    def components(self, device: str) -> list[ComponentRecord]:
        stmt = (
            select(DeviceComponentRow)
            .where(DeviceComponentRow.device == device)
            .order_by(DeviceComponentRow.id)
        )
        with self._session() as session:
            return [component_record(row) for row in session.scalars(stmt)]

    # --- the notification outbox -------------------------------------------------------

    def outbox_claim(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxRecord]:
        """Pending notifications that are due, leased so another desk process skips them."""
        stmt = (
            select(OutboxRow)
            .where(OutboxRow.status == "pending")
            .where(OutboxRow.next_attempt_at <= now)
            .where((OutboxRow.lease_until.is_(None)) | (OutboxRow.lease_until <= now))
            .order_by(OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._begin() as session:
            rows = list(session.scalars(stmt))
            for row in rows:
                row.lease_until = now + lease
            return [outbox_record(row) for row in rows]

    def outbox_sent(self, item_id: int, now: datetime) -> None:
        with self._begin() as session:
            row = session.get(OutboxRow, item_id)
            if row is not None:
                row.status, row.sent_at, row.lease_until = "sent", now, None
                row.attempts += 1

    def outbox_failed(
        self, item_id: int, error: str, retry_at: datetime | None, now: datetime
    ) -> None:
        with self._begin() as session:
            row = session.get(OutboxRow, item_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:2000]
            row.lease_until = None
            if retry_at is None:
                row.status = "failed"
            else:
                row.next_attempt_at = retry_at

    def outbox(self, status: str | None = None, limit: int = 100) -> list[OutboxRecord]:
        stmt = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(OutboxRow.status == status)
        with self._session() as session:
            return [outbox_record(row) for row in session.scalars(stmt)]

    def outbox_counts(self) -> dict[str, int]:
        stmt = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        with self._session() as session:
            return {st: int(n) for st, n in session.execute(stmt)}

    # --- observations and engine state ---------------------------------------------

    def recent_observations(self, device: str, limit: int = 5) -> list[dict[str, Any]]:
        """The device's latest observations, newest first, for a ticket's snapshot."""
        stmt = (
            select(ObservationRow)
            .where(ObservationRow.device == device)
            .order_by(ObservationRow.time.desc())
            .limit(limit)
        )
        with self._session() as session:
            return [_observation_summary(row) for row in session.scalars(stmt)]

    def observation_count(self) -> int:
        with self._session() as session:
            return session.execute(select(func.count()).select_from(ObservationRow)).scalar_one()

    def unknown_devices(self) -> list[UnknownDeviceRecord]:
        """Devices whose observations match nothing in the inventory, newest first."""
        grouped = (
            select(
                ObservationRow.device,
                func.min(ObservationRow.received_at),
                func.max(ObservationRow.received_at),
                func.count(),
            )
            .where(ObservationRow.known_device.is_(False))
            .group_by(ObservationRow.device)
        )
        out: list[UnknownDeviceRecord] = []
        with self._session() as session:
            for device, first, last, count in session.execute(grouped):
                latest = session.scalars(
                    select(ObservationRow)
                    .where(ObservationRow.device == device)
                    .order_by(ObservationRow.received_at.desc())
                    .limit(1)
                ).one()
                identity: dict[str, str] = {
                    k: str(latest.meta[k])
                    for k in ("hostname", "machine_id", "dmi_serial", "alertname", "unmatched")
                    if k in latest.meta
                }
                out.append(
                    UnknownDeviceRecord(device, first, last, int(count), latest.source, identity)
                )
        return sorted(out, key=lambda r: r.last_seen, reverse=True)

    def engine_memory(self, device: str) -> str | None:
        """The rule engine's memory of one device (JSON), if it has any."""
        with self._session() as session:
            row = session.get(EngineDeviceRow, device)
            return row.data if row is not None else None

    def sweep_marks(self) -> dict[str, float | None]:
        """Each device's ``sweep_after`` (see :meth:`rules.api.Engine.sweep_scope`)."""
        stmt = select(EngineDeviceRow.device, EngineDeviceRow.sweep_after)
        with self._session() as session:
            return {key: value for key, value in session.execute(stmt)}

    # --- tokens --------------------------------------------------------------------

    def add_token(
        self,
        token_hash: str,
        role: Role,
        customer: str | None,
        note: str | None,
        now: datetime,
        name: str | None = None,
        site: str | None = None,
        device: str | None = None,
    ) -> TokenRecord:
        row = ApiTokenRow(
            token_hash=token_hash,
            role=role.value,
            customer=customer,
            note=note,
            created_at=now,
            name=name,
            site=site,
            device=device,
        )
        with self._begin() as session:
            session.add(row)
            session.flush()
            return token_record(row)

    def find_token(self, token_hash: str) -> TokenRecord | None:
        stmt = select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)
        with self._session() as session:
            row = session.scalars(stmt).first()
            return None if row is None else token_record(row)

    def list_tokens(self) -> list[TokenRecord]:
        with self._session() as session:
            rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))
            return [token_record(row) for row in rows]

    def revoke_token(self, token_id: int, now: datetime) -> TokenRecord | None:
        """Revoke a token; None when there is no such id. Revoking twice keeps the first time."""
        with self._begin() as session:
            row = session.get(ApiTokenRow, token_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = now
            return token_record(row)


def _observation_summary(row: ObservationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": row.time.isoformat(),
        "source": row.source,
        "ok": row.ok,
        "error": row.error,
        "samples": row.samples,
    }


def _reason(exc: OperationalError) -> str:
    """The driver's first line, without the SQL statement and its parameters."""
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


def _filtered(stmt: Select[Any], query: TicketQuery) -> Select[Any]:
    if query.status is not None:
        stmt = stmt.where(TicketRow.status == query.status.value)
    if query.level is not None:
        stmt = stmt.where(TicketRow.level == query.level.value)
    if query.customer is not None:
        stmt = stmt.where(TicketRow.customer == query.customer)
    if query.device is not None:
        stmt = stmt.where(TicketRow.device == query.device)
    if query.active is not None:
        closed = TicketRow.status == TicketStatus.closed.value
        stmt = stmt.where(~closed if query.active else closed)
    if query.internal is not None:
        stmt = stmt.where(TicketRow.internal.is_(query.internal))
    if query.assignee is not None:
        stmt = stmt.where(TicketRow.assignee == query.assignee)
    return stmt
