"""Migrations on a fresh SQLite file: they build exactly the ORM's schema, running them
again changes nothing, and database URLs are checked before anything is opened."""

from __future__ import annotations

import json
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
        assert store.schema_revision() == head_revision() == "0010"
    finally:
        store.close()
    engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'desk.db'}")
    try:
        assert TABLES | {"engine_devices", "alembic_version"} <= set(
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
        assert again.schema_revision() == "0010"
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


def test_0009_carries_the_engine_memory_over_device_by_device(tmp_path: Path) -> None:
    """The fleet's one JSON row (version 2) becomes one row per device (issue #13)."""
    from alembic import command
    from sqlalchemy import text

    from desk.storage.database import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0008")
        old = {
            "version": 2,
            "series": {
                "core": {
                    "device_unreachable:core": {
                        "rule": "device_unreachable",
                        "device": "core",
                        "labels": {},
                        "source": "snmp",
                        "phase": "pending",
                        "since": 10.0,
                        "t": 70.0,
                        "raw": True,
                    }
                }
            },
            "topology": {},
            "seen": {"core|snmp": 70.0, "srv|agent": 60.0},
            "prev": {"srv|uptime_seconds|": [60.0, 5.0]},
            "swept_at": 60.0,
        }
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO engine_state (name, data, updated_at) VALUES ('rules', :d, :t)"),
                {"d": json.dumps(old), "t": START.replace(tzinfo=None)},
            )
        command.upgrade(alembic_config(engine), "head")
        with engine.connect() as conn:
            rows = {
                device: (json.loads(data), topology)
                for device, data, topology in conn.execute(
                    text("SELECT device, data, topology FROM engine_devices")
                )
            }
    finally:
        engine.dispose()
    assert set(rows) == {"core", "srv"}
    core, core_topology = rows["core"]
    assert core["seen"] == {"snmp": 70.0}
    assert core["series"]["device_unreachable:core"]["phase"] == "pending"
    assert json.loads(core_topology) == {
        "device_unreachable:core": ["device_unreachable", "core", "pending", True, 70.0]
    }
    assert rows["srv"] == (
        {"seen": {"agent": 60.0}, "prev": {"uptime_seconds|": [60.0, 5.0]}},
        None,
    )


def test_0010_hides_the_advisories_opened_before_they_were_internal(tmp_path: Path) -> None:
    """Advisories opened by the old pack were customer-visible; the upgrade makes them the
    service manager's, like the new ones. Faults stay visible."""
    from dataclasses import replace

    from alembic import command

    from desk.storage.database import alembic_config
    from desk.storage.records import DueTimes, NewTicket
    from weibao.levels import Level

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    store = Store(url)
    store.migrate()
    base = NewTicket(
        number="WB-2026-000001", fingerprint="contract_ending:c1", rule="contract_ending",
        customer="Acme", contract="c1", site="HQ", site_hq=True, timezone="Asia/Shanghai",
        device="acme-core", level=Level.IV, title="contract c1 ends in 20 days",
        description="", labels={"category": "advisory", "audience": "management"},
        detected_at=START, due=DueTimes(START, START, START),
    )  # fmt: skip
    fault = replace(
        base, number="WB-2026-000002", fingerprint="fan_failed:acme-core", rule="fan_failed",
        labels={"category": "hardware"},
    )  # fmt: skip
    with store.transaction() as tx:
        tx.insert_ticket(base, START)
        tx.insert_ticket(fault, START)
    store.close()
    engine = create_engine(url)
    try:
        command.downgrade(alembic_config(engine), "0009")
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
    store = Store(url)
    try:
        internal = {
            t.number: t.internal
            for t in (store.get_ticket(n) for n in ("WB-2026-000001", "WB-2026-000002"))
            if t
        }
        assert internal == {"WB-2026-000001": True, "WB-2026-000002": False}
    finally:
        store.close()
