"""Opening the database: URL rules, SQLite settings, and Alembic migrations run in code.

The desk supports SQLite (the default, one file) and PostgreSQL (at scale). Migrations
ship inside the package and run programmatically, so no ``alembic.ini`` is needed on
the machine that runs the desk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from weibao.errors import WeibaoError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SUPPORTED = ("sqlite", "postgresql")


class DatabaseError(WeibaoError):
    """The database URL is unusable or the database cannot be opened or migrated."""


class StoreUnavailable(DatabaseError):
    """The database does not answer now (down, locked too long); worth retrying later."""


class WriteConflict(StoreUnavailable):
    """The database rolled the transaction back to break a deadlock (or a serialisation
    conflict) with another one; running it again is the remedy."""


CONFLICT_STATES = frozenset({"40P01", "40001"})
"""SQLSTATEs of a transaction rolled back for another's sake (deadlock, serialisation)."""


def parse_db_url(text: str) -> URL:
    """Parse a SQLAlchemy URL, steering PostgreSQL to psycopg 3 (the driver we ship)."""
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise DatabaseError(
            f"{text!r} is not a database URL: write e.g. sqlite:///var/weibao.db or "
            "postgresql+psycopg://weibao@dbhost/weibao"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in SUPPORTED:
        raise DatabaseError(
            f"database {backend!r} is not supported: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB"
        )
    if backend == "postgresql" and url.drivername != "postgresql+psycopg":
        url = url.set(drivername="postgresql+psycopg")
    return url


def display_url(url: URL) -> str:
    """The URL for logs and messages: the password is never shown."""
    return url.render_as_string(hide_password=True)


def create_db_engine(url: URL) -> Engine:
    """An Engine tuned per backend; creates the directory of a SQLite file."""
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise DatabaseError(
            "an in-memory SQLite database would vanish with the desk: give a file, "
            "e.g. sqlite:///var/weibao.db"
        )
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        # Requests run in uvicorn's thread pool; a busy writer makes others wait, not fail.
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


READ_ONLY = "weibao_read_only"
"""Execution option of the engine behind read sessions (see :func:`read_engine`)."""


def read_engine(engine: Engine) -> Engine:
    """The same engine and pool, marked so that its transactions only read: on SQLite
    they begin DEFERRED, so in WAL mode a page view or ``/healthz`` reads a snapshot at
    once instead of queueing behind an ingest for the write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    # Take the write lock at the start: two ingests that both read, then both try to
    # write, would otherwise fail with "database is locked" instead of waiting.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()
