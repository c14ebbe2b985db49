"""The reports read the same on PostgreSQL as on SQLite: the same tickets, events and
rollups give the same inspection report and quarterly statistics, number for number
(folded totals, JSON subscripts and window functions included)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import rules
from desk.reports.inspection import build_inspection
from desk.reports.quarterly import build_quarterly
from desk.storage import Store
from tests.desk.conftest import IMMEDIATE_RULES
from tests.desk.reports import test_inspection as inspection_case
from tests.desk.reports import test_quarterly as quarterly_case
from tests.desk.reports.builder_fixtures import report_desk
from tests.integration.test_postgres_store import postgres_url  # noqa: F401  (the cluster)

pytestmark = pytest.mark.integration


@pytest.fixture
def stores(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Store, Store]]:  # noqa: F811
    """A PostgreSQL database of this test's own (the cluster is the module's), and SQLite."""
    name = f"reports_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    pg = Store(postgres_url.rsplit("/", 1)[0] + f"/{name}")
    pg.migrate()
    lite = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    lite.migrate()
    yield pg, lite
    pg.close()
    lite.close()


def test_the_inspection_report_is_the_same_on_both(stores: tuple[Store, Store]) -> None:
    reports = []
    for store in stores:
        desk = report_desk(store, rules.load_engine(IMMEDIATE_RULES))
        inspection_case.october_and_november(desk)
        report = build_inspection(
            store, desk.inventory, "恒通物流", *inspection_case.NOVEMBER, inspection_case.NOW
        )
        reports.append(report.model_dump(mode="json"))
    pg, lite = reports
    assert pg == lite
    assert {d["verdict"] for d in pg["devices"]} >= {"healthy", "unknown"}


def test_the_quarterly_statistics_are_the_same_on_both(stores: tuple[Store, Store]) -> None:
    reports = []
    for store in stores:
        desk = report_desk(store, rules.load_engine(IMMEDIATE_RULES))
        quarterly_case.work_the_quarter(desk)
        report = build_quarterly(store, desk.inventory, *quarterly_case.Q4, quarterly_case.NOW)
        reports.append(report.model_dump(mode="json"))
    pg, lite = reports
    assert pg == lite
    assert pg["totals"]["tickets"] == 4
