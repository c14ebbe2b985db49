"""Rollups on a real PostgreSQL: the dialect's upsert, the day folding SQL (VALUES join,
window functions), catch-up by received time, retention, and two desks catching up at
once on one database.

The cluster is the throwaway one of test_postgres_store (skipped without PostgreSQL
binaries, failed under CI=true)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from desk.rollups import Rollups
from desk.storage import Store
from desk.storage.rollups import RollupReads, RollupRecord
from desk.storage.tables import (
    DailyRollupRow,
    HourlyRollupRow,
    ObservationRow,
    RollupMarkRow,
)
from tests.desk.test_rollups import inventory_with, obs, put
from tests.integration.test_postgres_store import postgres_url  # noqa: F401  (the cluster)
from weibao.clock import FrozenClock

pytestmark = pytest.mark.integration

MONDAY = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 in Asia/Shanghai
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:  # noqa: F811
    store = Store(postgres_url)
    store.migrate()
    with store.write_session() as session:  # the cluster lives for the module
        for table in (ObservationRow, HourlyRollupRow, DailyRollupRow, RollupMarkRow):
            session.execute(delete(table))
    yield store
    store.close()


def everything(store: Store) -> list[RollupRecord]:
    reads = RollupReads(store)
    return reads.series(*EVER, grain="hour") + reads.series(*EVER)


def two_days(store: Store) -> None:
    """acme-db every 15 minutes for two local days, down 02:00-03:00 local on the first,
    its filesystem filling; beta-his (Asia/Shanghai too) hourly."""
    batch = []
    for q in range(2 * 96):
        at = MONDAY + q * timedelta(minutes=15)
        down = 2 * 4 <= q < 3 * 4
        samples = [
            ("up", 0.0 if down else 1.0),
            ("filesystem_usage_ratio", q / 1000, {"mountpoint": "/"}),
        ]
        batch.append(obs("acme-db", at, samples, ok=not down, error="timeout" if down else None))
        if q % 4 == 0:
            batch.append(obs("beta-his", at, [("up", 1.0), ("cpu_usage_ratio", 0.5)]))
    put(store, batch)


def test_catch_up_upserts_buckets_and_folds_days_on_postgres(store: Store) -> None:
    inventory = inventory_with()
    rollups = Rollups(store, inventory, _clock())
    two_days(store)
    now = MONDAY + 2 * DAY + HOUR
    written = rollups.catch_up(now)
    # acme-db: 48 hours x 2 series, 2 days x 2 series; beta-his the same.
    assert written == (48 * 2 + 2 * 2) * 2
    daily = RollupReads(store).series(*EVER, devices=["acme-db"], series=["up"])
    assert [(r.start, r.count, r.sum, r.note) for r in daily] == [
        (MONDAY, 96, 92.0, "timeout"),
        (MONDAY + DAY, 96, 96.0, None),
    ]
    assert daily[0].last_at == MONDAY + DAY - timedelta(minutes=15) and daily[0].last == 1.0
    [fs] = RollupReads(store).series(
        MONDAY + DAY, MONDAY + 2 * DAY, series=["filesystem_usage_ratio"]
    )
    assert (fs.labels, fs.min, fs.max, fs.last) == ({"mountpoint": "/"}, 0.096, 0.191, 0.191)
    assert RollupReads(store).last_seen() == {
        "acme-db": MONDAY + 2 * DAY - timedelta(minutes=15),
        "beta-his": MONDAY + 2 * DAY - HOUR,
    }

    # Again: nothing new, nothing rewritten, nothing changed.
    before = everything(store)
    assert rollups.catch_up(now) == 0
    assert everything(store) == before

    # A replayed observation of the first day's 05:00 hour: that hour and day only.
    late = obs(
        "acme-db",
        MONDAY + 5 * HOUR + timedelta(minutes=5),
        [("up", 0.0)],
        ok=False,
        error="replayed",
    )
    put(store, [late], received=now + timedelta(minutes=10))
    assert rollups.catch_up(now + timedelta(minutes=15)) == 2 + 2  # up and filesystem
    [first] = RollupReads(store).series(MONDAY, MONDAY + DAY, devices=["acme-db"], series=["up"])
    assert (first.count, first.sum, first.note) == (97, 92.0, "replayed")


def test_retention_on_postgres(store: Store) -> None:
    inventory = inventory_with(reports={"raw_retention": "1d", "hourly_retention": "30d"})
    rollups = Rollups(store, inventory, _clock())
    two_days(store)
    now = MONDAY + 2 * DAY + HOUR
    rollups.catch_up(now)
    # Older than now - 1 day (MONDAY + 1 day + 1 hour) and rolled up: 100 + 25 rows.
    assert rollups.enforce_retention(now) == 100 + 25
    assert store.observation_count() == 2 * 96 + 48 - 125
    assert sum(r.count for r in RollupReads(store).series(*EVER, series=["up"])) == 240


def test_two_desks_catching_up_at_once_write_the_same_rows(postgres_url: str, store: Store) -> None:  # noqa: F811
    """Two desk processes (two stores) on one database, racing through the same backlog:
    upserts on the same keys wait for each other; the result is what one desk makes."""
    inventory = inventory_with()
    two_days(store)
    now = MONDAY + 2 * DAY + HOUR
    other = Store(postgres_url)
    desks = [Rollups(store, inventory, _clock()), Rollups(other, inventory, _clock())]
    start = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def run(desk: Rollups) -> None:
        try:
            start.wait()
            desk.catch_up(now)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    other.close()
    assert [t.is_alive() for t in threads] == [False, False]
    assert errors == []
    raced = everything(store)

    with store.write_session() as session:
        for table in (HourlyRollupRow, DailyRollupRow, RollupMarkRow):
            session.execute(delete(table))
    Rollups(store, inventory, _clock()).catch_up(now)
    assert everything(store) == raced
    assert len(raced) == (48 * 2 + 2 * 2) * 2


def _clock() -> FrozenClock:
    return FrozenClock(MONDAY)


def test_totals_fold_the_buckets_on_postgres_as_the_series_say(store: Store) -> None:
    """The inspection report reads folded totals (window functions, JSON-free): on
    PostgreSQL they must equal what the buckets themselves add up to."""
    rollups = Rollups(store, inventory_with(), _clock())
    two_days(store)
    rollups.catch_up(MONDAY + 2 * DAY + HOUR)
    reads = RollupReads(store)
    buckets = reads.series(*EVER)
    totals = {(t.device, t.series, tuple(sorted(t.labels.items()))): t for t in reads.totals(*EVER)}
    assert len(totals) == len(
        {(b.device, b.series, tuple(sorted(b.labels.items()))) for b in buckets}
    )
    for (device, series, labels), total in totals.items():
        mine = [
            b
            for b in buckets
            if (b.device, b.series, tuple(sorted(b.labels.items()))) == (device, series, labels)
        ]
        assert total.count == sum(b.count for b in mine)
        assert total.sum == sum(b.sum for b in mine)
        assert total.max == max(b.max for b in mine) and total.min == min(b.min for b in mine)
        newest = max(mine, key=lambda b: b.last_at)
        assert (total.last, total.last_at) == (newest.last, newest.last_at)
    up = totals[("acme-db", "up", ())]
    assert (up.count, up.sum, up.note) == (192, 188.0, "timeout")
    assert reads.bucket_starts(*EVER, "up") == [MONDAY, MONDAY + DAY]
