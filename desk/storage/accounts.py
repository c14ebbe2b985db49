"""The web console's people and logged-in browsers: queries over ``users`` and
``web_sessions``, kept here so :class:`~desk.storage.Store` does not grow without end.

Callers get plain records (:class:`UserRecord`, :class:`SessionRecord`), never ORM rows.
Password hashing and the lockout policy are decided in :mod:`desk.web.accounts`; this
module only stores what it is told, each change in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from desk.model import Role
from desk.storage.store import Store
from desk.storage.tables import UserRow, WebSessionRow
from weibao.errors import WeibaoError


class DuplicateUser(WeibaoError):
    """A user name that is already taken."""


@dataclass(frozen=True)
class UserRecord:
    """A console account. ``password_hash`` stays inside the desk: never show it."""

    id: int
    username: str
    display_name: str
    role: Role
    customer: str | None
    engineer: str | None
    password_hash: str
    language: str | None
    failed_logins: int
    locked_until: datetime | None
    disabled_at: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class SessionRecord:
    """A logged-in browser, known by the SHA-256 of its cookie."""

    id_hash: str
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    role: Role
    customer: str | None
    engineer: str | None
    password_hash: str
    language: str | None = None


def _user(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        customer=row.customer,
        engineer=row.engineer,
        password_hash=row.password_hash,
        language=row.language,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        disabled_at=row.disabled_at,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def _session(row: WebSessionRow) -> SessionRecord:
    return SessionRecord(
        id_hash=row.id_hash,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


class AccountStore:
    """Users and web sessions in one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- users ---------------------------------------------------------------------

    def add_user(self, new: NewUser, now: datetime) -> UserRecord:
        row = UserRow(
            username=new.username,
            display_name=new.display_name,
            role=new.role.value,
            customer=new.customer,
            engineer=new.engineer,
            password_hash=new.password_hash,
            language=new.language,
            failed_logins=0,
            created_at=now,
        )
        try:
            with self._store.write_session() as session:
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError:
            raise DuplicateUser(
                f"there is already a user {new.username!r}: choose another user name, or "
                f"change that user's password with `weibao user passwd {new.username}`"
            ) from None

    def user_by_name(self, username: str) -> UserRecord | None:
        with self._store.read_session() as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _user(row)

    def user_by_id(self, user_id: int) -> UserRecord | None:
        with self._store.read_session() as session:
            row = session.get(UserRow, user_id)
            return None if row is None else _user(row)

    def list_users(self) -> list[UserRecord]:
        with self._store.read_session() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]

    def set_password(self, user_id: int, password_hash: str) -> None:
        """A new hash; also clears a lockout (a manager reset it on purpose) and ends the
        user's sessions, so a stolen session dies with the old password."""
        with self._store.write_session() as session:
            row = session.get(UserRow, user_id)
            if row is None:
                return
            row.password_hash = password_hash
            row.failed_logins = 0
            row.locked_until = None
            session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))

    def rehash(self, user_id: int, password_hash: str) -> None:
        """A stronger hash of the same password, after a login: sessions stay."""
        with self._store.write_session() as session:
            row = session.get(UserRow, user_id)
            if row is not None:
                row.password_hash = password_hash

    def set_language(self, user_id: int, language: str | None) -> None:
        with self._store.write_session() as session:
            row = session.get(UserRow, user_id)
            if row is not None:
                row.language = language

    def set_disabled(self, user_id: int, when: datetime | None) -> None:
        """Disable (``when`` set) and end every session at once, or enable again."""
        with self._store.write_session() as session:
            row = session.get(UserRow, user_id)
            if row is None:
                return
            row.disabled_at = when
            if when is not None:
                session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))

    def record_failure(
        self, user_id: int, now: datetime, max_failures: int, lock_until: datetime
    ) -> UserRecord | None:
        """Count a failed login in one transaction; the ``max_failures``-th locks the
        account until ``lock_until``. A lock that has run out starts the count afresh."""
        with self._store.write_session() as session:
            row = session.get(UserRow, user_id, with_for_update=True)
            if row is None:
                return None
            expired = row.locked_until is not None and row.locked_until <= now
            count = (0 if expired else row.failed_logins) + 1
            if expired:
                row.locked_until = None
            if count >= max_failures:
                row.locked_until = lock_until
                row.failed_logins = 0
            else:
                row.failed_logins = count
            session.flush()
            return _user(row)

    def record_login(self, user_id: int, now: datetime) -> None:
        with self._store.write_session() as session:
            row = session.get(UserRow, user_id)
            if row is not None:
                row.failed_logins = 0
                row.locked_until = None
                row.last_login_at = now

    # --- sessions ------------------------------------------------------------------

    def add_session(self, record: SessionRecord) -> None:
        with self._store.write_session() as session:
            session.add(
                WebSessionRow(
                    id_hash=record.id_hash,
                    user_id=record.user_id,
                    csrf_token=record.csrf_token,
                    created_at=record.created_at,
                    last_seen_at=record.last_seen_at,
                    expires_at=record.expires_at,
                )
            )

    def session_with_user(
        self, id_hash: str, now: datetime
    ) -> tuple[SessionRecord, UserRecord] | None:
        """A live session and its enabled user; expired ones and those of disabled users
        read as absent."""
        stmt = (
            select(WebSessionRow, UserRow)
            .join(UserRow, UserRow.id == WebSessionRow.user_id)
            .where(WebSessionRow.id_hash == id_hash)
            .where(WebSessionRow.expires_at > now)
            .where(UserRow.disabled_at.is_(None))
        )
        with self._store.read_session() as session:
            found = session.execute(stmt).first()
            if found is None:
                return None
            return _session(found[0]), _user(found[1])

    def touch_session(self, id_hash: str, now: datetime, expires_at: datetime) -> None:
        with self._store.write_session() as session:
            row = session.get(WebSessionRow, id_hash)
            if row is not None:
                row.last_seen_at = now
                row.expires_at = expires_at

    def delete_session(self, id_hash: str) -> None:
        with self._store.write_session() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))

    def delete_expired_sessions(self, now: datetime) -> int:
        with self._store.write_session() as session:
            result = session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
            return int(getattr(result, "rowcount", 0) or 0)

    def session_count(self, user_id: int) -> int:
        stmt = select(func.count()).select_from(WebSessionRow)
        with self._store.read_session() as session:
            return int(session.execute(stmt.where(WebSessionRow.user_id == user_id)).scalar_one())
