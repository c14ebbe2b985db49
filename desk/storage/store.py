"""All database access of the desk: :class:`Store` for reads and tokens, and
:meth:`Store.transaction` yielding a :class:`~desk.storage.transaction.StoreTx` for the
writes that must happen together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from desk.model import Role
from desk.storage import database
from desk.storage.convert import event_record, ticket_record, token_record
from desk.storage.records import (
    EventRecord,
    TicketQuery,
    TicketRecord,
    TokenRecord,
    UnknownDeviceRecord,
)
from desk.storage.tables import (
    ApiTokenRow,
    EngineStateRow,
    ObservationRow,
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
        """A read session; a database that does not answer becomes StoreUnavailable."""
        try:
            with self._sessions() as session:
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
            raise database.StoreUnavailable(_reason(exc)) from exc

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

    # --- observations and engine state ---------------------------------------------

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
                    for k in ("hostname", "machine_id", "dmi_serial")
                    if k in latest.meta
                }
                out.append(
                    UnknownDeviceRecord(device, first, last, int(count), latest.source, identity)
                )
        return sorted(out, key=lambda r: r.last_seen, reverse=True)

    def engine_state(self, name: str) -> str | None:
        with self._session() as session:
            row = session.get(EngineStateRow, name)
            return row.data if row is not None and row.data else None

    # --- tokens --------------------------------------------------------------------

    def add_token(
        self, token_hash: str, role: Role, customer: str | None, note: str | None, now: datetime
    ) -> TokenRecord:
        row = ApiTokenRow(
            token_hash=token_hash, role=role.value, customer=customer, note=note, created_at=now
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
    return stmt
