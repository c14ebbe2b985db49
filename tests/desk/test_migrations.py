"""Migrations on a fresh SQLite file: they build exactly the ORM's schema, running them
again changes nothing, and database URLs are checked before anything is opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from desk.model import Role
from desk.storage import DatabaseError, Store
from desk.storage.database import head_revision, parse_db_url
from desk.storage.tables import Base

from .conftest import START

TABLES = {
    "observations",
    "tickets",
    "ticket_events",
    "ticket_counters",
    "api_tokens",
    "escalations",
    "outbox",
    "parts",
    "part_uses",
    "device_components",
    "rollups_hourly",
    "rollups_daily",
    "rollup_marks",
    "users",
    "web_sessions",
    "report_deliveries",
}


def test_a_fresh_file_is_migrated_to_the_newest_revision(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'desk.db'}")
    try:
        assert store.schema_revision() is None
        store.migrate()
        assert store.schema_revision() == head_revision() == "0008"
    finally:
        store.close()
    engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'desk.db'}")
    try:
        assert TABLES | {"engine_state", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_the_migrations_build_exactly_the_orm_schema(store: Store, db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrading_again_is_a_no_op_and_keeps_the_data(store: Store, db_url: str) -> None:
    store.add_token("0" * 64, Role.engineer, None, "kept", START)
    store.migrate()
    again = Store(db_url)
    try:
        again.migrate()
        assert [t.note for t in again.list_tokens()] == ["kept"]
        assert again.schema_revision() == "0008"
    finally:
        again.close()


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("mysql://u@h/db", "not supported"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "not a database URL"),
    ],
)
def test_unusable_urls_are_refused_with_an_example(url: str, complaint: str) -> None:
    with pytest.raises(DatabaseError, match=complaint):
        Store(url)


def test_postgresql_urls_use_psycopg_and_never_show_the_password() -> None:
    url = parse_db_url("postgresql://weibao:s3cret@db.example.com/weibao")
    assert url.drivername == "postgresql+psycopg"
    assert parse_db_url("postgres://weibao@db/weibao").drivername == "postgresql+psycopg"
    store_url = url.render_as_string(hide_password=True)
    assert "s3cret" not in store_url
