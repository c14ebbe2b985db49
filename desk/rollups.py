"""Hourly and daily rollups of the series reports need, and raw-observation retention.

Reports cover months; raw observations are one JSON row per inspection. So every
inspection (agent, SNMP, SSH; traps and Alertmanager alerts are not inspections) is
folded into per-device, per-series buckets: count, sum, min, max, last, the samples
inside the contract's service hours, and a note. :data:`SERIES` declares what is kept.

- Hourly buckets start at UTC hours. Daily buckets start at the device's site-local
  midnight (stored as the UTC instant), because reports are by local day and month, and
  are folded from the hourly buckets of that day.
- Progress follows ``received_at``, never observation time: agents spool for hours and
  replay. Each catch-up reads what arrived since the mark, recomputes every (device,
  hour) bucket it touches entirely from the raw rows, then the days of those hours.
  Recomputing is idempotent, so a replay, the two-minute overlap (:data:`SETTLE`) and
  two desks doing the same work all give the same rows.
- Retention deletes raw observations older than ``reports.raw_retention`` once rolled
  up, and hourly buckets older than ``reports.hourly_retention``; daily buckets stay.
  Once retention has deleted raw rows before some time, hours before it are never
  recomputed (their raw rows may be gone), so an observation replayed that late is kept
  out of the rollups rather than allowed to shrink them. Housekeeping enforces retention
  only when caught up, so after an upgrade the whole history is rolled up first.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from desk.storage import Store
from desk.storage.rollups import (
    Received,
    RollupKey,
    RollupRecord,
    RollupTables,
    StoredObservation,
    encode_labels,
)
from desk.worktime import ZERO, BusinessHours
from weibao.clock import Clock
from weibao.inventory.model import Inventory
from weibao.logs import log_event
from weibao.observation import Source

HOUR = timedelta(hours=1)
SETTLE = timedelta(minutes=2)
"""The mark stays this far behind now: another desk may still commit observations received
a moment ago. Re-reading them next time is harmless."""
MARK = "observations"
RAW_RETENTION_MARK = "raw_retention"
"""Raw observations before this time may have been deleted: their hours are not recomputed."""
HOURLY_RETENTION_MARK = "hourly_retention"
"""Hourly buckets before this may have been deleted: their days are not recomputed."""
ROLLED_SOURCES = (Source.agent.value, Source.snmp.value, Source.ssh.value)
DEFAULT_TIMEZONE = "Asia/Shanghai"

CHUNK = 20_000  # received observations per chunk: bounds memory and transactions
DEVICE_GROUP = 2_000  # raw observations read and rolled up per read transaction
WRITE_BATCH = 10_000  # hourly records per write transaction (commits are what cost)
RETENTION_CHUNK = 5_000  # raw observations deleted per transaction
RETENTION_CHUNKS_PER_ROUND = 20  # the rest waits for the next housekeeping round
CATCH_UP_EVERY = timedelta(minutes=5)
"""How often housekeeping catches up. Every catch-up rewrites each touched hour in full, so
catching up every 15 s would reread the current hour 240 times an hour; a report calls
:meth:`Rollups.catch_up` itself and so still includes everything pushed until then."""

_TICK = timedelta(microseconds=1)
_log = logging.getLogger("weibao.desk.rollups")

LabelKey = tuple[tuple[str, str], ...]


class Inspection:
    """A stored observation as the series extractors see it: samples by name."""

    __slots__ = ("error", "full", "ok", "samples", "time")

    def __init__(self, row: StoredObservation) -> None:
        self.time = row.time
        self.ok = row.ok
        self.error = row.error
        self.full = row.meta.get("inspection") == "full"
        self.samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for sample in row.samples:
            name = sample.get("name")
            if name in WANTED:
                self.samples.setdefault(name, []).append(
                    (sample.get("labels") or {}, float(sample["value"]))
                )

    def values(self, name: str) -> list[tuple[dict[str, str], float]]:
        return self.samples.get(name, [])


Extract = Callable[[Inspection], Iterable[tuple[LabelKey, float]]]


@dataclass(frozen=True)
class SeriesSpec:
    """One rolled-up series: its name, the samples it reads and how one inspection
    becomes values (each with the labels it keeps)."""

    name: str
    reads: tuple[str, ...]
    extract: Extract
    note: Callable[[Inspection, float], str | None] | None = None


def plain(sample: str) -> SeriesSpec:
    """The sample's values, labels dropped."""
    return SeriesSpec(sample, (sample,), lambda i: (((), v) for _, v in i.values(sample)))


def per_label(sample: str, label: str) -> SeriesSpec:
    """One series per value of ``label``; the sample's other labels are dropped."""

    def extract(i: Inspection) -> Iterator[tuple[LabelKey, float]]:
        for labels, value in i.values(sample):
            yield ((label, labels.get(label, "")),), value

    return SeriesSpec(sample, (sample,), extract)


def count_of(name: str, sample: str) -> SeriesSpec:
    """How many ``sample`` values the inspection has (when it has any)."""
    return SeriesSpec(name, (sample,), lambda i: _some(len(i.values(sample))))


def failed_of(name: str, sample: str) -> SeriesSpec:
    """How many of the inspection's ``sample`` values are 0 (when it has any)."""

    def extract(i: Inspection) -> Iterable[tuple[LabelKey, float]]:
        found = i.values(sample)
        return [((), float(sum(1 for _, v in found if v == 0)))] if found else []

    return SeriesSpec(name, (sample,), extract)


def total_of(name: str, sample: str) -> SeriesSpec:
    """The sum of all the inspection's ``sample`` values (when it has any)."""

    def extract(i: Inspection) -> Iterable[tuple[LabelKey, float]]:
        found = i.values(sample)
        return [((), sum(v for _, v in found))] if found else []

    return SeriesSpec(name, (sample,), extract)


def _some(n: int) -> list[tuple[LabelKey, float]]:
    return [((), float(n))] if n else []


def _up(i: Inspection) -> list[tuple[LabelKey, float]]:
    found = i.values("up")
    value = found[0][1] if found else (1.0 if i.ok else 0.0)
    return [((), value)]


def _up_note(i: Inspection, value: float) -> str | None:
    if i.ok and value != 0:
        return None
    return i.error or "the device did not answer (up 0)"


SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("up", ("up",), _up, note=_up_note),  # availability = sum / count
    plain("cpu_usage_ratio"),
    plain("memory_usage_ratio"),
    per_label("filesystem_usage_ratio", "mountpoint"),
    per_label("storage_pool_usage_ratio", "pool"),
    per_label("temperature_celsius", "sensor"),
    per_label("ups_load_ratio", "line"),
    count_of("fans", "fan_ok"),
    failed_of("fans_failed", "fan_ok"),
    count_of("power_supplies", "power_supply_ok"),
    failed_of("power_supplies_failed", "power_supply_ok"),
    total_of("interface_errors_rate_total", "interface_errors_rate"),
    plain("ups_battery_charge_ratio"),
    plain("ups_battery_minutes_remaining"),
    plain("ups_on_battery"),
    plain("ups_battery_replace"),
    SeriesSpec("inspection_full", (), lambda i: [((), 1.0)] if i.full else []),
)
"""What reports can read. A new series is one line; buckets gain it from then on (and
for the hours a catch-up recomputes)."""

WANTED = frozenset(name for spec in SERIES for name in spec.reads)


@dataclass
class _Bucket:
    count: int = 0
    sum: float = 0.0
    min: float = float("inf")
    max: float = float("-inf")
    last: float = 0.0
    last_at: datetime | None = None
    service_count: int = 0
    service_sum: float = 0.0
    note: str | None = None

    def add(self, value: float, at: datetime, in_service: bool, note: str | None) -> None:
        """Values must come in time order: the last one added is ``last``."""
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.last, self.last_at = value, at
        if in_service:
            self.service_count += 1
            self.service_sum += value
        if note is not None:
            self.note = note


def roll_hour(
    device: str,
    start: datetime,
    observations: Iterable[StoredObservation],
    in_service: Callable[[datetime], bool],
) -> list[RollupRecord]:
    """The hourly records of one device and hour, from all its inspections in that hour."""
    buckets: dict[tuple[str, LabelKey], _Bucket] = defaultdict(_Bucket)
    for row in sorted(observations, key=lambda o: (o.time, o.id)):
        inspection = Inspection(row)
        serving = in_service(row.time)
        for spec in SERIES:
            for labels, value in spec.extract(inspection):
                note = spec.note(inspection, value) if spec.note else None
                buckets[(spec.name, labels)].add(value, row.time, serving, note)
    return [
        RollupRecord(
            device=device,
            series=series,
            labels=dict(labels),
            start=start,
            count=b.count,
            sum=b.sum,
            min=b.min,
            max=b.max,
            last=b.last,
            last_at=b.last_at or start,
            service_count=b.service_count,
            service_sum=b.service_sum,
            note=b.note,
        )
        for (series, labels), b in sorted(buckets.items())
    ]


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_day(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of the local day (in ``tz``) that contains ``at``."""
    day = at.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


@dataclass(frozen=True)
class DeviceTime:
    """A device's site time zone and contract service hours (None: 24x7)."""

    tz: ZoneInfo
    hours: BusinessHours | None = None

    def service_test(self, hour: datetime) -> Callable[[datetime], bool]:
        """Whether an instant in ``hour`` is inside service hours; decided once for the
        whole hour unless a service span starts or ends inside it."""
        if self.hours is None:
            return _always
        covered = self.hours.between(hour, hour + HOUR)
        if covered == HOUR:
            return _always
        if covered == ZERO:
            return _never
        hours = self.hours
        return lambda at: hours.between(at, at + _TICK) > ZERO


def _always(_: datetime) -> bool:
    return True


def _never(_: datetime) -> bool:
    return False


@dataclass
class CatchUp:
    """What one catch-up did, for the log."""

    observations: int = 0
    hourly: int = 0
    daily: int = 0
    too_old: int = 0
    chunks: int = 0
    done: bool = True
    intact_hours: datetime | None = None
    """Hours from here on still have all their raw rows (None: retention never ran)."""
    intact_days: datetime | None = None

    @property
    def written(self) -> int:
        return self.hourly + self.daily


class Rollups:
    """The rollup job of one desk process; several processes may run it on one database."""

    def __init__(
        self,
        store: Store,
        inventory: Inventory,
        clock: Clock,
        every: timedelta = CATCH_UP_EVERY,
    ) -> None:
        self._store = store
        self._tables = RollupTables(store)
        self._inventory = inventory
        self._clock = clock
        self._every = every
        self._settings = inventory.reports
        self._devices: dict[str, DeviceTime] = {}
        for name, ctx in inventory.device_index().items():
            calendar = ctx.contract.calendar
            hours = None if calendar is None else BusinessHours(calendar, ctx.site.timezone)
            self._devices[name] = DeviceTime(ZoneInfo(ctx.site.timezone), hours)
        self._unknown = DeviceTime(ZoneInfo(DEFAULT_TIMEZONE))

    def run_once(self, now: datetime) -> None:
        """Catch up (every :data:`CATCH_UP_EVERY`, at most one chunk per round, so a long
        backlog never holds up escalation) and, once caught up, enforce retention."""
        mark = self._tables.mark(MARK)
        due = mark is None or now - mark >= SETTLE + self._every
        if due and not self._catch_up(now, max_chunks=1).done:
            return  # a backlog: retention waits, so it never cuts into unrolled hours
        self.enforce_retention(now, max_chunks=RETENTION_CHUNKS_PER_ROUND)

    def catch_up(self, now: datetime) -> int:
        """Roll up everything received until ``now``; the number of rollup rows (hourly
        and daily buckets of one series) rewritten. Reports call this first."""
        return self._catch_up(now, max_chunks=None).written

    def enforce_retention(self, now: datetime, max_chunks: int | None = None) -> int:
        """Delete raw observations past ``raw_retention`` that are rolled up, and hourly
        buckets past ``hourly_retention``; the number of rows deleted."""
        mark = self._tables.mark(MARK)
        deleted = 0
        if mark is not None:
            before = now - self._settings.raw_retention
            chunks = 0
            while max_chunks is None or chunks < max_chunks:
                gone = self._tables.delete_raw(
                    before, mark, RETENTION_CHUNK, (RAW_RETENTION_MARK, now)
                )
                deleted += gone
                chunks += 1
                if gone < RETENTION_CHUNK:
                    break
        hourly = self._expire_hourly(now)
        if deleted or hourly:
            log_event(_log, "rollups.retention", observations=deleted, hourly=hourly)
        return deleted + hourly

    # --- catching up ---------------------------------------------------------------------

    def _catch_up(self, now: datetime, max_chunks: int | None) -> CatchUp:
        done = CatchUp(
            intact_hours=self._tables.mark(RAW_RETENTION_MARK),
            intact_days=self._tables.mark(HOURLY_RETENTION_MARK),
        )
        settled = now - SETTLE
        mark = self._tables.mark(MARK)
        position: tuple[datetime, str | None] | None = None if mark is None else (mark, None)
        while True:
            if max_chunks is not None and done.chunks >= max_chunks:
                done.done = False
                break
            received = self._tables.received(ROLLED_SOURCES, position, now, CHUNK)
            finished = len(received) < CHUNK
            # Next time, from just before the last one (rows sharing its received_at and
            # a greater id come next), or from the settled past once all is read.
            upto = settled
            if not finished:
                last = received[-1]
                position = (last.received_at, last.id)
                upto = min(last.received_at - _TICK, settled)
            self._rebuild(received, now, (MARK, upto, now), done)
            done.chunks += 1
            if finished:
                break
        if done.observations or done.too_old:
            log_event(
                _log,
                "rollups.caught_up",
                observations=done.observations,
                hourly=done.hourly,
                daily=done.daily,
                too_old=done.too_old,
                complete=done.done,
            )
        return done

    def _rebuild(
        self,
        received: Sequence[Received],
        now: datetime,
        mark: tuple[str, datetime, datetime],
        done: CatchUp,
    ) -> None:
        """Recompute the hours ``received`` touched, then their days, and set the mark
        with the last write."""
        touched: dict[datetime, set[str]] = defaultdict(set)
        for obs in received:
            hour = hour_of(obs.time)
            if done.intact_hours is not None and hour < done.intact_hours:
                done.too_old += 1
            else:
                touched[hour].add(obs.device)
        done.observations += len(received)
        days: dict[tuple[datetime, datetime], set[RollupKey]] = defaultdict(set)
        pending: list[RollupRecord] = []
        for hour in sorted(touched):
            for records in self._roll_hours(hour, touched[hour]):
                for r in records:
                    window = local_day(r.start, self._time_of(r.device).tz)
                    if done.intact_days is None or window[0] >= done.intact_days:
                        days[window].add(RollupKey(r.device, r.series, encode_labels(r.labels)))
                pending.extend(records)
                if len(pending) >= WRITE_BATCH:
                    done.hourly += self._tables.write_hourly(pending)
                    pending = []
        hourly, daily = self._tables.finish(pending, days, mark)
        done.hourly += hourly
        done.daily += daily

    def _roll_hours(self, hour: datetime, devices: set[str]) -> Iterator[list[RollupRecord]]:
        """The hourly records of ``devices`` for ``hour``, a group of devices at a time.

        The hour's observations are found by time (ids only), then fetched by id, so
        neither database walks a device's whole history."""
        by_device: dict[str, list[str]] = defaultdict(list)
        for obs_id, device in self._tables.observation_ids(hour, hour + HOUR, ROLLED_SOURCES):
            if device in devices:
                by_device[device].append(obs_id)
        group: list[str] = []
        for device in sorted(by_device):
            group.append(device)
            if sum(len(by_device[d]) for d in group) >= DEVICE_GROUP:
                yield self._roll_group(hour, group, by_device)
                group = []
        if group:
            yield self._roll_group(hour, group, by_device)

    def _roll_group(
        self, hour: datetime, devices: list[str], ids: dict[str, list[str]]
    ) -> list[RollupRecord]:
        rows = self._tables.observations([i for d in devices for i in ids[d]])
        per_device: dict[str, list[StoredObservation]] = defaultdict(list)
        for row in rows:
            per_device[row.device].append(row)
        records: list[RollupRecord] = []
        for device, observations in sorted(per_device.items()):
            test = self._time_of(device).service_test(hour)
            records.extend(roll_hour(device, hour, observations, test))
        return records

    def _time_of(self, device: str) -> DeviceTime:
        return self._devices.get(device, self._unknown)

    # --- retention -------------------------------------------------------------------

    def _expire_hourly(self, now: datetime) -> int:
        """Delete hourly buckets past their retention, at most once a day: the delete goes
        device by device along the primary key, which is cheap but not free."""
        before = hour_of(now - self._settings.hourly_retention)
        last = self._tables.mark(HOURLY_RETENTION_MARK)
        if last is not None and before - last < timedelta(days=1):
            return 0
        devices = self._tables.rollup_devices()
        return self._tables.delete_hourly(devices, before, (HOURLY_RETENTION_MARK, now))
