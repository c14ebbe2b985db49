"""Rollups on SQLite: what each series holds, local days, service hours, catching up by
received time (late replays, overlap, chunks), and retention."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import desk.rollups as rollups_module
from desk.ingest import Ingestor
from desk.rollups import HOURLY_RETENTION_MARK, MARK, SETTLE, Rollups
from desk.storage import Store
from desk.storage.rollups import (
    RollupReads,
    RollupRecord,
    RollupTables,
    decode_labels,
    encode_labels,
)
from rules.api import Engine
from tests.desk.conftest import INVENTORY
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation

# Monday 2026-03-02 00:00 in Asia/Shanghai.
MONDAY = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def obs(
    device: str,
    at: datetime,
    samples: Sequence[tuple[Any, ...]] = (),
    *,
    ok: bool = True,
    error: str | None = None,
    source: str = "agent",
    meta: dict[str, str] | None = None,
) -> Observation:
    return Observation.model_validate(
        {
            "device": device,
            "source": source,
            "time": at,
            "ok": ok,
            "error": error,
            "samples": [
                {"name": s[0], "value": s[1], "labels": s[2] if len(s) > 2 else {}} for s in samples
            ],
            "meta": meta or {},
        }
    )


def put(
    store: Store, observations: Sequence[Observation], received: datetime | None = None
) -> None:
    """Store as ingest does; each received 5 s after it was made unless ``received``."""
    with store.transaction() as tx:
        for o in observations:
            tx.insert_observation(o, True, received or o.time + timedelta(seconds=5))


def inventory_with(**changes: Any) -> Inventory:
    data = copy.deepcopy(INVENTORY)
    if "reports" in changes:
        data["reports"] = changes["reports"]
    if "calendar" in changes:
        data["customers"][1]["contracts"][0]["calendar"] = changes["calendar"]
    return Inventory.model_validate(data)


def rows(store: Store, grain: str = "day", **filters: Any) -> list[RollupRecord]:
    return RollupReads(store).series(*EVER, grain=grain, **filters)  # type: ignore[arg-type]


def one(records: list[RollupRecord], series: str, **labels: str) -> RollupRecord:
    [found] = [r for r in records if r.series == series and r.labels == labels]
    return found


def test_availability_over_thirty_days_from_daily_rows(store: Store, inventory: Inventory) -> None:
    """720 hourly inspections, 24 of them failed: availability 29/30, and each day's note
    names its last failure."""
    rollups = Rollups(store, inventory, FrozenClock(MONDAY))
    for day in range(30):
        batch = []
        for h in range(day * 24, day * 24 + 24):
            at = MONDAY + h * HOUR + timedelta(minutes=30)
            if 100 <= h < 124:
                batch.append(obs("acme-db", at, [("up", 0)], ok=False, error=f"timeout {h}"))
            else:
                batch.append(obs("acme-db", at, [("up", 1), ("cpu_usage_ratio", 0.25)]))
        put(store, batch)
        rollups.catch_up(MONDAY + (day + 1) * DAY + timedelta(minutes=5))

    daily = rows(store, series=["up"])
    assert [r.start for r in daily] == [MONDAY + d * DAY for d in range(30)]
    assert {r.count for r in daily} == {24}
    assert sum(r.sum for r in daily) / sum(r.count for r in daily) == pytest.approx(29 / 30)
    # Hours 100..123 are local day 4 (hours 96..119) and day 5 (120..143).
    assert [(d, daily[d].sum, daily[d].note) for d in (3, 4, 5, 6)] == [
        (3, 24.0, None),
        (4, 4.0, "timeout 119"),
        (5, 20.0, "timeout 123"),
        (6, 24.0, None),
    ]
    assert daily[4].min == 0.0 and daily[4].max == 1.0 and daily[4].last == 0.0
    assert daily[4].last_at == MONDAY + 119 * HOUR + timedelta(minutes=30)
    cpu = rows(store, series=["cpu_usage_ratio"])
    assert sum(r.count for r in cpu) == 696 and cpu[4].mean == pytest.approx(0.25)
    assert len(rows(store, "hour", series=["up"])) == 720


def test_each_series_from_one_hour_of_inspections(store: Store, inventory: Inventory) -> None:
    at = [MONDAY + timedelta(hours=8, minutes=m) for m in (0, 15, 30, 45)]
    fans = [("fan_ok", 1, {"fan": "1"}), ("fan_ok", 1, {"fan": "2"}), ("fan_ok", 1, {"fan": "3"})]
    put(
        store,
        [
            obs(
                "acme-db",
                at[0],
                [
                    ("up", 1),
                    ("cpu_usage_ratio", 0.2),
                    ("memory_usage_ratio", 0.5),
                    ("filesystem_usage_ratio", 0.5, {"mountpoint": "/", "device": "sda1"}),
                    ("filesystem_usage_ratio", 0.9, {"mountpoint": "/var", "device": "sda2"}),
                    ("temperature_celsius", 41, {"sensor": "cpu"}),
                    ("temperature_celsius", 30, {"sensor": "inlet"}),
                    ("interface_errors_rate", 0.5, {"interface": "eth0", "direction": "in"}),
                    ("interface_errors_rate", 1.5, {"interface": "eth1", "direction": "out"}),
                    ("power_supply_ok", 1, {"psu": "1"}),
                    ("power_supply_ok", 1, {"psu": "2"}),
                    *fans,
                ],
                meta={"inspection": "full"},
            ),
            obs(
                "acme-db",
                at[1],
                [
                    ("up", 1),
                    ("cpu_usage_ratio", 0.4),
                    ("memory_usage_ratio", 0.7),
                    ("filesystem_usage_ratio", 0.6, {"mountpoint": "/"}),
                    ("temperature_celsius", 45, {"sensor": "cpu"}),
                    ("fan_ok", 1, {"fan": "1"}),
                    ("fan_ok", 0, {"fan": "2"}),
                    ("fan_ok", 1, {"fan": "3"}),
                ],
                meta={"inspection": "health"},
            ),
            # No up sample: ok means up, a failed inspection means down.
            obs("acme-db", at[2], [("cpu_usage_ratio", 0.6)]),
            obs("acme-db", at[3], [], ok=False, error="ssh: connection refused"),
            # Not inspections: never rolled up.
            obs("acme-db", at[1], [("up", 0), ("cpu_usage_ratio", 1.0)], source="trap"),
            obs("acme-db", at[2], [("up", 0)], source="alertmanager"),
        ],
    )
    Rollups(store, inventory, FrozenClock(at[3])).catch_up(at[3] + HOUR)

    hour = rows(store, "hour")
    assert {r.start for r in hour} == {MONDAY + 8 * HOUR}
    up = one(hour, "up")
    assert (up.count, up.sum, up.last, up.note) == (4, 3.0, 0.0, "ssh: connection refused")
    cpu = one(hour, "cpu_usage_ratio")
    assert (cpu.count, cpu.min, cpu.max, cpu.last) == (3, 0.2, 0.6, 0.6)
    assert cpu.mean == pytest.approx(0.4) and cpu.last_at == at[2]
    assert one(hour, "memory_usage_ratio").max == 0.7
    assert one(hour, "filesystem_usage_ratio", mountpoint="/").max == 0.6
    assert one(hour, "filesystem_usage_ratio", mountpoint="/var").max == 0.9
    assert one(hour, "temperature_celsius", sensor="cpu").max == 45
    assert one(hour, "temperature_celsius", sensor="inlet").count == 1
    fans_rec, failed = one(hour, "fans"), one(hour, "fans_failed")
    assert (fans_rec.count, fans_rec.max, failed.sum, failed.max, failed.last) == (2, 3, 1, 1, 1)
    psu, psu_failed = one(hour, "power_supplies"), one(hour, "power_supplies_failed")
    assert (psu.count, psu.max, psu_failed.max) == (1, 2, 0)
    errors = one(hour, "interface_errors_rate_total")
    assert (errors.count, errors.max) == (1, 2.0)
    full = one(hour, "inspection_full")
    assert (full.count, full.sum, full.last_at) == (1, 1.0, at[0])
    assert {r.series for r in hour}.isdisjoint({"ups_on_battery", "ups_load_ratio"})
    # The day holds the same figures (one hour of it), starting at local midnight.
    day = rows(store)
    assert {r.start for r in day} == {MONDAY}
    assert [(r.series, r.labels, r.count, r.sum, r.max) for r in day] == [
        (r.series, r.labels, r.count, r.sum, r.max) for r in hour
    ]


def test_ups_series(store: Store, inventory: Inventory) -> None:
    at = MONDAY + HOUR
    put(
        store,
        [
            obs(
                "beta-his",
                at,
                [
                    ("ups_battery_charge_ratio", 1.0),
                    ("ups_on_battery", 0),
                    ("ups_battery_minutes_remaining", 40),
                    ("ups_battery_replace", 0),
                    ("ups_load_ratio", 0.3, {"line": "1"}),
                    ("ups_load_ratio", 0.4, {"line": "2"}),
                ],
            ),
            obs(
                "beta-his",
                at + timedelta(minutes=1),
                [
                    ("ups_battery_charge_ratio", 0.8),
                    ("ups_on_battery", 1),
                    ("ups_battery_minutes_remaining", 12),
                    ("ups_battery_replace", 1),
                    ("ups_load_ratio", 0.5, {"line": "1"}),
                ],
            ),
        ],
    )
    Rollups(store, inventory, FrozenClock(at)).catch_up(at + HOUR)
    day = rows(store, devices=["beta-his"])
    assert one(day, "ups_battery_charge_ratio").min == 0.8
    assert one(day, "ups_battery_minutes_remaining").min == 12
    assert (one(day, "ups_on_battery").sum, one(day, "ups_battery_replace").last) == (1, 1)
    assert [r.max for r in day if r.series == "ups_load_ratio"] == [0.5, 0.4]


def test_service_hours_count_only_samples_inside_the_contract_calendar(tmp_path: Path) -> None:
    """beta-his's contract serves 09:30-12:00 and 13:00-18:00 on weekdays (Asia/Shanghai):
    of 96 inspections on Monday, 30 fall inside; on Saturday none."""
    store = Store(f"sqlite:///{tmp_path / 'cal.db'}")
    store.migrate()
    calendar = {
        "hours": ["09:30-12:00", "13:00-18:00"],
        "days": ["mon", "tue", "wed", "thu", "fri"],
    }
    inventory = inventory_with(calendar=calendar)
    saturday = MONDAY + 5 * DAY
    down = {timedelta(hours=10), timedelta(hours=10, minutes=15), timedelta(hours=20)}
    batch = []
    for day in (MONDAY, saturday):
        for q in range(96):
            offset = q * timedelta(minutes=15)
            up = 0 if offset in down else 1
            batch.append(obs("beta-his", day + offset, [("up", up)], ok=bool(up), error="down"))
    # acme-db's contract has no calendar: 24x7, every sample counts.
    batch.append(obs("acme-db", saturday + 3 * HOUR, [("up", 1)]))
    put(store, batch)
    Rollups(store, inventory, FrozenClock(saturday)).catch_up(saturday + 2 * DAY)

    monday, sat = rows(store, series=["up"], devices=["beta-his"])
    assert (monday.start, monday.count, monday.sum) == (MONDAY, 96, 93)
    assert (monday.service_count, monday.service_sum) == (30, 28)
    assert (sat.start, sat.count, sat.sum) == (saturday, 96, 93)
    assert (sat.service_count, sat.service_sum) == (0, 0)
    hours = {r.start: r for r in rows(store, "hour", series=["up"], devices=["beta-his"])}
    # 09:00-10:00 local: 09:30 and 09:45 count; 12:00-13:00 none; 14:00-15:00 all four.
    assert [hours[MONDAY + h * HOUR].service_count for h in (9, 12, 14)] == [2, 0, 4]
    [acme] = rows(store, series=["up"], devices=["acme-db"])
    assert (acme.count, acme.service_count) == (1, 1)
    store.close()


def test_daily_buckets_start_at_the_sites_local_midnight(
    store: Store, inventory: Inventory
) -> None:
    put(
        store,
        [
            obs("acme-db", datetime(2026, 3, 2, 15, 59, tzinfo=UTC), [("up", 1)]),
            obs("acme-db", datetime(2026, 3, 2, 16, 0, tzinfo=UTC), [("up", 1)]),
            # Asia/Urumqi is UTC+6: its day starts at 18:00 UTC.
            obs("acme-branch-fw", datetime(2026, 3, 2, 17, 30, tzinfo=UTC), [("up", 1)]),
            obs("acme-branch-fw", datetime(2026, 3, 2, 18, 30, tzinfo=UTC), [("up", 1)]),
            # Not in the inventory: Asia/Shanghai.
            obs("stray-01", datetime(2026, 3, 2, 16, 30, tzinfo=UTC), [("up", 1)]),
        ],
    )
    Rollups(store, inventory, FrozenClock(MONDAY)).catch_up(datetime(2026, 3, 3, tzinfo=UTC))
    starts = [(r.device, r.start, r.count) for r in rows(store, series=["up"])]
    assert starts == [
        ("acme-branch-fw", datetime(2026, 3, 1, 18, 0, tzinfo=UTC), 1),
        ("acme-branch-fw", datetime(2026, 3, 2, 18, 0, tzinfo=UTC), 1),
        ("acme-db", datetime(2026, 3, 1, 16, 0, tzinfo=UTC), 1),
        ("acme-db", datetime(2026, 3, 2, 16, 0, tzinfo=UTC), 1),
        ("stray-01", datetime(2026, 3, 2, 16, 0, tzinfo=UTC), 1),
    ]
    hourly = [r.start.hour for r in rows(store, "hour", series=["up"], devices=["acme-db"])]
    assert hourly == [15, 16]


def _six_hours(store: Store) -> datetime:
    """acme-db every 10 minutes for six hours from MONDAY; returns the last time."""
    times = [MONDAY + i * timedelta(minutes=10) for i in range(36)]
    put(store, [obs("acme-db", t, [("up", 1), ("cpu_usage_ratio", 0.5)]) for t in times])
    return times[-1]


def test_a_late_replayed_observation_recomputes_its_old_bucket(
    store: Store, inventory: Inventory
) -> None:
    now = _six_hours(store) + 10 * timedelta(minutes=1)
    rollups = Rollups(store, inventory, FrozenClock(now))
    rollups.catch_up(now)
    before = {(r.series, r.start): r for r in rows(store, "hour")}

    # An agent's spool replays an inspection of hour 2, an hour later.
    samples = [("up", 0), ("cpu_usage_ratio", 0.9)]
    late_at = MONDAY + 2 * HOUR + timedelta(minutes=5)
    late = obs("acme-db", late_at, samples, ok=False, error="disk full")
    now += HOUR
    put(store, [late], received=now - timedelta(minutes=3))
    # Two series of one hour, and their day.
    assert rollups.catch_up(now) == 4

    after = {(r.series, r.start): r for r in rows(store, "hour")}
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {("up", MONDAY + 2 * HOUR), ("cpu_usage_ratio", MONDAY + 2 * HOUR)}
    up2 = after[("up", MONDAY + 2 * HOUR)]
    assert (up2.count, up2.sum, up2.note, up2.last) == (7, 6.0, "disk full", 1.0)
    assert after[("cpu_usage_ratio", MONDAY + 2 * HOUR)].max == 0.9
    [day_up] = rows(store, series=["up"])
    assert (day_up.count, day_up.sum, day_up.note) == (37, 36.0, "disk full")


def test_catching_up_twice_changes_nothing(store: Store, inventory: Inventory) -> None:
    now = _six_hours(store) + timedelta(minutes=10)
    rollups = Rollups(store, inventory, FrozenClock(now))
    assert rollups.catch_up(now) == 6 * 2 + 2  # six hours and a day, two series
    first = rows(store, "hour") + rows(store)
    assert rollups.catch_up(now) == 0
    assert rows(store, "hour") + rows(store) == first
    assert RollupTables(store).mark(MARK) == now - SETTLE

    # Received within the last two minutes: rolled up now, and again next time (the
    # overlap another desk's late commit needs), with the same result.
    put(store, [obs("acme-db", now, [("up", 1)])], received=now - timedelta(seconds=30))
    assert rollups.catch_up(now) == 2
    second = rows(store, "hour") + rows(store)
    assert rollups.catch_up(now) == 2
    assert rows(store, "hour") + rows(store) == second
    assert one(rows(store), "up").count == 37


def test_chunks_and_device_groups_give_the_same_rows(
    store: Store, inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many observations sharing one received_at, read 7 at a time: the (received_at, id)
    keyset neither skips nor loses any."""
    received = MONDAY + DAY
    batch = [
        obs(
            device,
            MONDAY + i * timedelta(minutes=7),
            [("up", float(i % 3 != 0)), ("cpu_usage_ratio", i / 100)],
        )
        for i in range(60)
        for device in ("acme-db", "acme-core", "beta-his")
    ]
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    other.migrate()
    for target in (store, other):
        put(target, batch, received=received)
    now = received + HOUR
    Rollups(store, inventory, FrozenClock(now)).catch_up(now)
    monkeypatch.setattr(rollups_module, "CHUNK", 7)
    monkeypatch.setattr(rollups_module, "DEVICE_GROUP", 5)
    Rollups(other, inventory, FrozenClock(now)).catch_up(now)
    assert rows(other, "hour") + rows(other) == rows(store, "hour") + rows(store)
    assert sum(r.count for r in rows(other, series=["up"])) == 180
    other.close()


def test_run_once_catches_up_every_few_minutes_through_ingest(
    store: Store, inventory: Inventory, engine: Engine
) -> None:
    clock = FrozenClock(MONDAY + 2 * HOUR)
    ingestor = Ingestor(store, engine, inventory, clock)
    rollups = Rollups(store, inventory, clock)
    ingestor.ingest([obs("acme-db", clock.now() - timedelta(minutes=5), [("up", 1)])])
    clock.advance(timedelta(minutes=1))
    rollups.run_once(clock.now())  # no mark yet: catches up at once
    assert one(rows(store), "up").count == 1

    ingestor.ingest([obs("acme-db", clock.now(), [("up", 1)])])
    clock.advance(timedelta(minutes=3))
    rollups.run_once(clock.now())  # the mark is 4 minutes old: not yet
    assert one(rows(store), "up").count == 1
    clock.advance(timedelta(minutes=4))
    rollups.run_once(clock.now())
    assert one(rows(store), "up").count == 2


def test_retention_deletes_rolled_up_raw_rows_and_old_hours_but_keeps_days(
    store: Store,
) -> None:
    inventory = inventory_with(reports={"raw_retention": "7d", "hourly_retention": "20d"})
    rollups = Rollups(store, inventory, FrozenClock(MONDAY))
    for day in range(30):
        times = [MONDAY + h * HOUR + timedelta(minutes=30) for h in range(day * 24, day * 24 + 24)]
        put(store, [obs("acme-db", at, [("up", 1)]) for at in times])
        now = MONDAY + (day + 1) * DAY
        rollups.catch_up(now)
        rollups.enforce_retention(now)
    now = MONDAY + 30 * DAY
    # Made on day 1, received after the last catch-up: not rolled up, so not deleted.
    late = obs("acme-db", MONDAY + DAY, [("up", 0)], ok=False, error="late")
    put(store, [late], received=now - timedelta(minutes=1))
    assert rollups.enforce_retention(now) == 0

    # Raw rows older than 7 days are gone (hours 552..719 stay), and the late one.
    assert store.observation_count() == 168 + 1
    hourly = rows(store, "hour", series=["up"])
    assert [len(hourly), hourly[0].start] == [480, MONDAY + 10 * DAY]
    daily = rows(store, series=["up"])
    assert [len(daily), sum(r.count for r in daily)] == [30, 720]
    assert RollupTables(store).mark(HOURLY_RETENTION_MARK) == MONDAY + 10 * DAY

    # Once rolled up, the late one goes too; too old to recompute its day (its raw rows
    # are gone), it is kept out of the rollups rather than shrinking them.
    now += 5 * timedelta(minutes=1)
    assert rollups.catch_up(now) == 0
    assert rollups.enforce_retention(now) == 1
    assert store.observation_count() == 168
    assert rows(store, series=["up"]) == daily


def test_reads_filter_by_device_series_and_period(store: Store, inventory: Inventory) -> None:
    put(
        store,
        [
            obs(device, MONDAY + d * DAY + HOUR, [("up", 1), ("memory_usage_ratio", 0.5)])
            for d in range(3)
            for device in ("acme-db", "beta-his")
        ],
    )
    now = MONDAY + 4 * DAY
    Rollups(store, inventory, FrozenClock(now)).catch_up(now)
    reads = RollupReads(store)
    found = reads.series(MONDAY + DAY, MONDAY + 3 * DAY, devices=["beta-his"], series=["up"])
    assert [(r.device, r.series, r.start) for r in found] == [
        ("beta-his", "up", MONDAY + DAY),
        ("beta-his", "up", MONDAY + 2 * DAY),
    ]
    hourly = reads.series(MONDAY, MONDAY + DAY, grain="hour", series=["memory_usage_ratio"])
    assert [(r.device, r.start) for r in hourly] == [
        ("acme-db", MONDAY + HOUR),
        ("beta-his", MONDAY + HOUR),
    ]
    last = MONDAY + 2 * DAY + HOUR
    assert reads.last_seen() == {"acme-db": last, "beta-his": last}
    assert reads.last_seen(["beta-his", "nowhere"]) == {"beta-his": last}


def test_labels_round_trip_whatever_they_hold() -> None:
    labels = {"mountpoint": "/mnt/a,b=c\\d", "": "", "sensor": "CPU 1 温度"}
    assert decode_labels(encode_labels(labels)) == labels
    assert encode_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert (encode_labels({}), decode_labels("")) == ("", {})


def test_mean_is_none_for_an_empty_bucket() -> None:
    record = RollupRecord("d", "up", {}, MONDAY, 0, 0.0, 0.0, 0.0, 0.0, MONDAY, 0, 0.0, None)
    assert record.mean is None


def test_housekeeping_rolls_up_a_backlog_before_retention_deletes_any_of_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade the database holds months of raw rows and no buckets: the history
    is rolled up a chunk per round, and only then are old raw rows deleted."""
    inventory = inventory_with(reports={"raw_retention": "7d"})
    times = [MONDAY + h * HOUR + timedelta(minutes=30) for h in range(480)]
    put(store, [obs("acme-db", at, [("up", 1)]) for at in times])
    monkeypatch.setattr(rollups_module, "CHUNK", 100)
    rollups = Rollups(store, inventory, FrozenClock(MONDAY))
    now = MONDAY + 20 * DAY
    for _ in range(4):
        rollups.run_once(now)
    assert store.observation_count() == 480
    rollups.run_once(now)  # the fifth chunk is the last: retention may start
    assert store.observation_count() == 480 - 13 * 24
    daily = rows(store, series=["up"])
    assert [len(daily), sum(r.count for r in daily)] == [20, 480]
