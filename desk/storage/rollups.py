"""The SQL of rollups: reading observations to roll up, upserting hourly and daily
buckets, the progress mark, retention deletes, and :class:`RollupReads` for reports.

What the series mean and when buckets are recomputed is :mod:`desk.rollups`; this module
only knows rows. Every write is an upsert, so two desk processes catching up at once
write the same buckets twice instead of failing.

Queries are shaped for the indexes that exist: raw observations of an hour are found
through the ``time`` index first (ids and devices only) and then fetched by id, because
SQLite would otherwise choose the ``device`` index and walk a device's whole history;
rollup rows are always looked up by their full key prefix (device, series, labels) with
a range on ``start``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import String, and_, case, column, delete, func, or_, select, update, values
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from desk.storage.store import Store
from desk.storage.tables import (
    DailyRollupRow,
    HourlyRollupRow,
    ObservationRow,
    RollupMarkRow,
)

Grain = Literal["hour", "day"]
RollupTable = type[HourlyRollupRow] | type[DailyRollupRow]

# Statement sizes: well under SQLite's 32766 and PostgreSQL's 65535 bound parameters.
_IDS_PER_QUERY = 900
_ROWS_PER_UPSERT = 5_000  # rows per executemany
_KEYS_PER_QUERY = 2_000  # x 3 columns
_LABELS_LIMIT = 300  # the column's width
_LABEL_VALUE_LIMIT = 120


@dataclass(frozen=True)
class RollupRecord:
    """One series of one device over one bucket (an hour, or a site-local day)."""

    device: str
    series: str
    labels: dict[str, str]
    start: datetime
    count: int
    sum: float
    min: float
    max: float
    last: float
    last_at: datetime
    service_count: int
    service_sum: float
    note: str | None

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None


@dataclass(frozen=True)
class RollupTotal:
    """One series of one device folded over a period's daily (or hourly) buckets."""

    device: str
    series: str
    labels: dict[str, str]
    buckets: int
    count: int
    sum: float
    min: float
    """Over the buckets that hold values (``count`` > 0)."""
    max: float
    """Over the buckets that hold values (``count`` > 0)."""
    last: float | None
    """The value of the bucket with the newest ``last_at`` (among those with values)."""
    last_at: datetime | None
    note: str | None
    """The note of the latest bucket (by start) that has a non-empty one."""

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None


@dataclass(frozen=True)
class StoredObservation:
    """What rollups need of a stored observation (not its raw output or identity)."""

    id: str
    device: str
    source: str
    time: datetime
    ok: bool
    error: str | None
    samples: list[dict[str, Any]]
    meta: dict[str, Any]


@dataclass(frozen=True)
class Received:
    """An observation received since the mark: which bucket it touches, and the keyset
    position (received_at, id) the next chunk starts after."""

    id: str
    device: str
    time: datetime
    received_at: datetime


@dataclass(frozen=True)
class RollupKey:
    device: str
    series: str
    labels: str
    """Canonical, as stored (see :func:`encode_labels`)."""


def encode_labels(labels: Mapping[str, str]) -> str:
    """``k=v,k2=v2`` sorted by key; ``\\``, ``,`` and ``=`` in values are escaped, so any
    value round-trips. Values are cut so the key fits its column on PostgreSQL too."""
    parts = [f"{_escape(k)}={_escape(v[:_LABEL_VALUE_LIMIT])}" for k, v in sorted(labels.items())]
    return ",".join(parts)[:_LABELS_LIMIT]


def decode_labels(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    key: list[str] = []
    value: list[str] = []
    current, escaped = key, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=" and current is key:
            current = value
        elif char == ",":
            out["".join(key)] = "".join(value)
            key, value = [], []
            current = key
        else:
            current.append(char)
    if key or value:
        out["".join(key)] = "".join(value)
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class RollupTables:
    """The write side, used by :class:`desk.rollups.Rollups` only."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- progress ------------------------------------------------------------------

    def mark(self, name: str) -> datetime | None:
        with self._store.read_session() as session:
            row = session.get(RollupMarkRow, name)
            return None if row is None else row.upto

    # --- reading raw observations --------------------------------------------------

    def received(
        self,
        sources: Collection[str],
        after: tuple[datetime, str | None] | None,
        upto: datetime,
        limit: int,
    ) -> list[Received]:
        """Up to ``limit`` observations received at or before ``upto``, in (received_at,
        id) order, after ``after``: a (received_at, id) position, or (received_at, None)
        for everything received strictly later. (Fast only with an index on
        ``received_at``.)"""
        stmt = (
            select(
                ObservationRow.id,
                ObservationRow.device,
                ObservationRow.time,
                ObservationRow.received_at,
            )
            .where(ObservationRow.source.in_(list(sources)))
            .where(ObservationRow.received_at <= upto)
            .order_by(ObservationRow.received_at, ObservationRow.id)
            .limit(limit)
        )
        if after is not None:
            at, last_id = after
            later = ObservationRow.received_at > at
            if last_id is not None:
                same = and_(ObservationRow.received_at == at, ObservationRow.id > last_id)
                later = or_(later, same)
            stmt = stmt.where(later)
        with self._store.read_session() as session:
            return [Received(i, d, t, r) for i, d, t, r in session.execute(stmt)]

    def observation_ids(
        self, start: datetime, end: datetime, sources: Collection[str]
    ) -> list[tuple[str, str]]:
        """(id, device) of the observations whose time is in [start, end)."""
        stmt = (
            select(ObservationRow.id, ObservationRow.device)
            .where(ObservationRow.time >= start, ObservationRow.time < end)
            .where(ObservationRow.source.in_(list(sources)))
        )
        with self._store.read_session() as session:
            return [(i, d) for i, d in session.execute(stmt)]

    def observations(self, ids: Sequence[str]) -> list[StoredObservation]:
        stmt = select(
            ObservationRow.id,
            ObservationRow.device,
            ObservationRow.source,
            ObservationRow.time,
            ObservationRow.ok,
            ObservationRow.error,
            ObservationRow.samples,
            ObservationRow.meta,
        )
        out: list[StoredObservation] = []
        with self._store.read_session() as session:
            for batch in _chunks(ids, _IDS_PER_QUERY):
                rows = session.execute(stmt.where(ObservationRow.id.in_(batch)))
                out.extend(StoredObservation(*row) for row in rows)
        return out

    # --- writing buckets -----------------------------------------------------------

    def write_hourly(self, records: Sequence[RollupRecord]) -> int:
        with self._store.write_session() as session:
            return upsert(session, HourlyRollupRow, records)

    def finish(
        self,
        hourly: Sequence[RollupRecord],
        days: Mapping[tuple[datetime, datetime], Collection[RollupKey]],
        mark: tuple[str, datetime, datetime] | None,
    ) -> tuple[int, int]:
        """Write the last hourly records, rewrite the daily rows of ``days`` from the hourly
        rows, and advance the mark (name, upto, now), in one transaction; the hourly and
        daily rows written.

        ``days`` maps a day (its UTC start and end) to the keys to recompute over it. The
        database does the folding (sums, extremes, the latest hour), so a day of hourly
        rows never travels to Python."""
        daily = 0
        with self._store.write_session() as session:
            written = upsert(session, HourlyRollupRow, hourly)
            # A fixed order (day, then key) for every desk: two desks upserting the same
            # rows then wait for each other instead of deadlocking on PostgreSQL.
            for (start, end), keys in sorted(days.items(), key=lambda item: item[0]):
                for batch in _chunks(sorted(keys, key=_key_order), _KEYS_PER_QUERY):
                    daily += upsert(session, DailyRollupRow, _fold_days(session, batch, start, end))
            if mark is not None:
                _advance(session, *mark)
        return written, daily

    # --- retention -----------------------------------------------------------------

    def delete_raw(
        self, before: datetime, rolled_upto: datetime, limit: int, mark: tuple[str, datetime]
    ) -> int:
        """Delete up to ``limit`` observations older than ``before`` that were rolled up,
        and advance ``mark`` (name, now) to ``before`` in the same transaction: from then
        on, hours before it may have lost raw rows and are no longer recomputed."""
        doomed = (
            select(ObservationRow.id)
            .where(ObservationRow.time < before)
            .where(ObservationRow.received_at <= rolled_upto)
            .limit(limit)
        )
        with self._store.write_session() as session:
            _advance(session, mark[0], before, mark[1])
            ids = list(session.scalars(doomed))
            if ids:
                session.execute(delete(ObservationRow).where(ObservationRow.id.in_(ids)))
            return len(ids)

    def rollup_devices(self) -> list[str]:
        """Every device with daily rows (daily rows are never deleted, so this is all)."""
        with self._store.read_session() as session:
            return list(session.scalars(select(DailyRollupRow.device).distinct()))

    def delete_hourly(
        self, devices: Sequence[str], before: datetime, mark: tuple[str, datetime]
    ) -> int:
        """Hourly rows older than ``before``, one device at a time (the key's first column),
        so no statement scans the table; ``mark`` (name, now) moves to ``before`` with them."""
        deleted = 0
        with self._store.write_session() as session:
            _advance(session, mark[0], before, mark[1])
            for device in devices:
                result = session.execute(
                    delete(HourlyRollupRow)
                    .where(HourlyRollupRow.device == device)
                    .where(HourlyRollupRow.start < before)
                )
                deleted += max(cast(CursorResult[Any], result).rowcount, 0)
        return deleted


class RollupReads:
    """What report builders read: buckets over a period, and when devices were last seen."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def series(
        self,
        start: datetime,
        end: datetime,
        *,
        grain: Grain = "day",
        devices: Collection[str] | None = None,
        series: Collection[str] | None = None,
    ) -> list[RollupRecord]:
        """Buckets whose start is in [start, end), ordered by device, series, labels, start.

        Daily buckets start at the device's local midnight (as a UTC instant): pass the
        period's local bounds converted to UTC."""
        table: RollupTable = HourlyRollupRow if grain == "hour" else DailyRollupRow
        stmt = (
            select(*_columns(table))
            .where(table.start >= start, table.start < end)
            .order_by(table.device, table.series, table.labels, table.start)
        )
        if devices is not None:
            stmt = stmt.where(table.device.in_(list(devices)))
        if series is not None:
            stmt = stmt.where(table.series.in_(list(series)))
        labels: dict[str, dict[str, str]] = {}
        with self._store.read_session() as session:
            return [_record(row, labels) for row in session.execute(stmt)]

    def totals(
        self,
        start: datetime,
        end: datetime,
        *,
        grain: Grain = "day",
        devices: Collection[str] | None = None,
        series: Collection[str] | None = None,
    ) -> list[RollupTotal]:
        """Per device, series and labels, the buckets whose start is in [start, end) folded
        by the database: sums of count and sum, extremes, the newest value and the newest
        note; ordered by device, series, labels. What :meth:`series` gives, folded, without
        a Python object per bucket (a month of 500 devices is 230,000 daily rows)."""
        t: RollupTable = HourlyRollupRow if grain == "hour" else DailyRollupRow
        key = (t.device, t.series, t.labels)
        valued = t.count > 0
        newest = func.row_number().over(
            partition_by=key, order_by=(case((valued, 0), else_=1), t.last_at.desc(), t.start)
        )
        noted = or_(t.note.is_(None), t.note == "")
        newest_note = func.row_number().over(
            partition_by=key, order_by=(case((noted, 1), else_=0), t.start.desc())
        )
        inner = select(
            t.device,
            t.series,
            t.labels,
            t.count,
            t.sum,
            t.min,
            t.max,
            t.last,
            t.last_at,
            t.note,
            newest.label("newest"),
            newest_note.label("newest_note"),
        ).where(t.start >= start, t.start < end)
        if devices is not None:
            inner = inner.where(t.device.in_(list(devices)))
        if series is not None:
            inner = inner.where(t.series.in_(list(series)))
        b = inner.subquery().c
        first = and_(b.newest == 1, b.count > 0)
        stmt = select(
            b.device,
            b.series,
            b.labels,
            func.count(),
            func.sum(b.count),
            func.sum(b.sum),
            func.min(case((b.count > 0, b.min))),
            func.max(case((b.count > 0, b.max))),
            func.max(case((first, b.last))),
            func.max(case((first, b.last_at))),
            func.max(case((and_(b.newest_note == 1, ~_unnoted(b)), b.note))),
        ).group_by(b.device, b.series, b.labels)
        labels: dict[str, dict[str, str]] = {}
        out = []
        with self._store.read_session() as session:
            rows = session.execute(stmt).all()
        for d, s, lb, n, count, total, low, high, last, last_at, note in rows:
            if lb not in labels:
                labels[lb] = decode_labels(lb)
            out.append(
                RollupTotal(
                    device=d,
                    series=s,
                    labels=dict(labels[lb]),
                    buckets=int(n),
                    count=int(count or 0),
                    sum=float(total or 0.0),
                    min=float(low) if low is not None else 0.0,
                    max=float(high) if high is not None else 0.0,
                    last=None if last is None else float(last),
                    last_at=_utc(last_at),
                    note=note,
                )
            )
        out.sort(key=lambda r: (r.device, r.series, encode_labels(r.labels)))
        return out

    def bucket_starts(
        self,
        start: datetime,
        end: datetime,
        series: str,
        *,
        grain: Grain = "day",
        devices: Collection[str] | None = None,
    ) -> list[datetime]:
        """The distinct starts in [start, end) of the ``series`` buckets that hold values
        (e.g. the days a full inspection ran), sorted."""
        t: RollupTable = HourlyRollupRow if grain == "hour" else DailyRollupRow
        stmt = (
            select(t.start)
            .where(t.start >= start, t.start < end, t.series == series, t.count > 0)
            .distinct()
        )
        if devices is not None:
            stmt = stmt.where(t.device.in_(list(devices)))
        with self._store.read_session() as session:
            return sorted(session.scalars(stmt))

    def last_seen(self, devices: Collection[str] | None = None) -> dict[str, datetime]:
        """When each device was last inspected (last_at of its newest ``up`` bucket)."""
        stmt = (
            select(DailyRollupRow.device, func.max(DailyRollupRow.last_at))
            .where(DailyRollupRow.series == "up")
            .group_by(DailyRollupRow.device)
        )
        if devices is not None:
            stmt = stmt.where(DailyRollupRow.device.in_(list(devices)))
        with self._store.read_session() as session:
            return {device: at for device, at in session.execute(stmt)}


def _unnoted(columns: Any) -> Any:
    """``note`` is null or empty, on a subquery's columns."""
    return or_(columns.note.is_(None), columns.note == "")


def _utc(at: datetime | str | None) -> datetime | None:
    """Aware UTC, whatever the aggregate handed back (SQLite keeps naive UTC)."""
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _advance(session: Session, name: str, upto: datetime, now: datetime) -> None:
    """Move a mark forward, never back: another desk may have gone further."""
    session.execute(
        _insert(session, RollupMarkRow)
        .values(name=name, upto=upto, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    session.execute(
        update(RollupMarkRow)
        .where(RollupMarkRow.name == name, RollupMarkRow.upto < upto)
        .values(upto=upto, updated_at=now)
    )


def upsert(session: Session, table: RollupTable, records: Iterable[RollupRecord]) -> int:
    """INSERT ... ON CONFLICT (key) DO UPDATE: a recomputed bucket replaces the stored one.

    One statement, executed for many rows by the driver (compiled once, cached)."""
    rows = [_values(r) for r in records]
    if not rows:
        return 0
    stmt = _insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["device", "series", "labels", "start"],
        set_={name: stmt.excluded[name] for name in _VALUE_COLUMNS},
    )
    for batch in _chunks(rows, _ROWS_PER_UPSERT):
        session.execute(stmt, list(batch))
    return len(rows)


_VALUE_COLUMNS = (
    "count",
    "sum",
    "min",
    "max",
    "last",
    "last_at",
    "service_count",
    "service_sum",
    "note",
)


def _insert(session: Session, table: type[Any]) -> Any:
    """The dialect's INSERT, which has ``on_conflict_*`` (SQLite and PostgreSQL only)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table)


def _values(r: RollupRecord) -> dict[str, Any]:
    return {
        "device": r.device,
        "series": r.series,
        "labels": encode_labels(r.labels),
        "start": r.start,
        "count": r.count,
        "sum": r.sum,
        "min": r.min,
        "max": r.max,
        "last": r.last,
        "last_at": r.last_at,
        "service_count": r.service_count,
        "service_sum": r.service_sum,
        "note": r.note,
    }


def _key_order(key: RollupKey) -> tuple[str, str, str]:
    return key.device, key.series, key.labels


def _fold_days(
    session: Session, keys: Sequence[RollupKey], start: datetime, end: datetime
) -> list[RollupRecord]:
    """The daily records of ``keys`` over [start, end) from their hourly rows, folded by
    the database: sums and extremes, ``last`` of the newest hour, ``note`` of the newest
    hour that has one. The keys are joined as a VALUES list, which both databases turn
    into one primary-key search per key (a row-value IN would make SQLite scan)."""
    h = HourlyRollupRow
    wanted = (
        values(
            column("device", String),
            column("series", String),
            column("labels", String),
            name="wanted",
        )
        .data([(k.device, k.series, k.labels) for k in keys])
        .cte("wanted")
    )
    key = (h.device, h.series, h.labels)
    newest = func.row_number().over(partition_by=key, order_by=h.start.desc())
    noted_first = case((h.note.is_(None), 1), else_=0)
    newest_note = func.row_number().over(partition_by=key, order_by=(noted_first, h.start.desc()))
    hours = (
        select(h, newest.label("newest"), newest_note.label("newest_note"))
        .join(wanted, and_(*(c == wanted.c[c.key] for c in key)))
        .where(h.start >= start, h.start < end)
        .subquery()
    )
    r = hours.c
    stmt = select(
        r.device,
        r.series,
        r.labels,
        func.sum(r.count),
        func.sum(r.sum),
        func.min(r.min),
        func.max(r.max),
        func.max(r.last_at),
        func.sum(r.service_count),
        func.sum(r.service_sum),
        func.max(case((r.newest == 1, r.last))),
        func.max(case((r.newest_note == 1, r.note))),
    ).group_by(r.device, r.series, r.labels)
    labels: dict[str, dict[str, str]] = {}
    out = []
    folded = sorted(session.execute(stmt).all(), key=lambda row: (row[0], row[1], row[2]))
    for d, s, lb, count, total, low, high, last_at, s_count, s_sum, last, note in folded:
        if lb not in labels:
            labels[lb] = decode_labels(lb)
        out.append(
            RollupRecord(
                device=d,
                series=s,
                labels=labels[lb],
                start=start,
                count=int(count),
                sum=float(total),
                min=float(low),
                max=float(high),
                last=float(last),
                last_at=last_at,
                service_count=int(s_count),
                service_sum=float(s_sum),
                note=note,
            )
        )
    return out


def _columns(table: RollupTable) -> list[Any]:
    return [
        getattr(table, name) for name in ("device", "series", "labels", "start", *_VALUE_COLUMNS)
    ]


def _record(row: Any, cache: dict[str, dict[str, str]]) -> RollupRecord:
    labels = cache.get(row.labels)
    if labels is None:
        labels = cache[row.labels] = decode_labels(row.labels)
    return RollupRecord(
        device=row.device,
        series=row.series,
        labels=dict(labels),
        start=row.start,
        count=row.count,
        sum=row.sum,
        min=row.min,
        max=row.max,
        last=row.last,
        last_at=row.last_at,
        service_count=row.service_count,
        service_sum=row.service_sum,
        note=row.note,
    )
