"""A device's figures over a period, from its daily rollups: availability, CPU and
memory, the fullest filesystem or pool, the hottest sensor, fans, power supplies,
interface errors and the UPS battery. Pure: records in, :class:`Figures` out.

Means are weighted by samples (sum of sums over sum of counts), never a mean of daily
means, so a day with one inspection does not weigh as much as a day with 1,440.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from desk.reports.model import Figures, Named, Stat, UpsFigures
from desk.reports.periods import local_date
from desk.storage.rollups import RollupRecord

FIGURE_SERIES = (
    "up",
    "cpu_usage_ratio",
    "memory_usage_ratio",
    "filesystem_usage_ratio",
    "storage_pool_usage_ratio",
    "temperature_celsius",
    "fans",
    "fans_failed",
    "power_supplies",
    "power_supplies_failed",
    "interface_errors_rate_total",
    "ups_battery_charge_ratio",
    "ups_battery_minutes_remaining",
    "ups_on_battery",
    "ups_battery_replace",
    "inspection_full",
)
_UPS = ("ups_battery_charge_ratio", "ups_battery_minutes_remaining", "ups_on_battery")


@dataclass(frozen=True)
class Reach:
    """Whether the device answered in the period, and if not, what is known of why."""

    reached: bool
    attempts: int
    """Inspections recorded (``up`` samples), answered or not."""
    last_error: str | None


def by_series(records: Iterable[RollupRecord]) -> dict[str, list[RollupRecord]]:
    out: dict[str, list[RollupRecord]] = defaultdict(list)
    for rec in records:
        out[rec.series].append(rec)
    for recs in out.values():
        recs.sort(key=lambda r: r.start)
    return dict(out)


def reach_of(series: dict[str, list[RollupRecord]]) -> Reach:
    """Reached: some ``up`` bucket has a sample of 1. The last error note of a failing
    bucket says why not (a wrong community, a timeout...)."""
    ups = series.get("up", [])
    notes = [r.note for r in ups if r.note]
    return Reach(
        reached=any(r.sum > 0 for r in ups),
        attempts=sum(r.count for r in ups),
        last_error=notes[-1] if notes else None,
    )


def figures_of(series: dict[str, list[RollupRecord]]) -> Figures:
    up = series.get("up", [])
    count = sum(r.count for r in up)
    return Figures(
        availability=sum(r.sum for r in up) / count if count else None,
        inspections=count,
        cpu=_stat(series.get("cpu_usage_ratio", [])),
        memory=_stat(series.get("memory_usage_ratio", [])),
        fullest_storage=_peak(
            [
                *series.get("filesystem_usage_ratio", []),
                *series.get("storage_pool_usage_ratio", []),
            ],
            ("mountpoint", "pool"),
        ),
        hottest=_peak(series.get("temperature_celsius", []), ("sensor",)),
        fans=_last(series.get("fans", [])),
        fans_failed=_max_int(series.get("fans_failed", [])),
        power_supplies=_last(series.get("power_supplies", [])),
        power_supplies_failed=_max_int(series.get("power_supplies_failed", [])),
        interface_errors_peak=_max(series.get("interface_errors_rate_total", [])),
        ups=_ups(series),
    )


def inspection_days(records: Iterable[RollupRecord], timezone: str) -> set[date]:
    """Local days on which a full inspection ran (``inspection_full`` buckets)."""
    return {local_date(r.start, timezone) for r in records if r.count > 0}


def _stat(recs: Sequence[RollupRecord]) -> Stat:
    count = sum(r.count for r in recs)
    if not count:
        return Stat()
    return Stat(mean=sum(r.sum for r in recs) / count, peak=max(r.max for r in recs))


def _peak(recs: Sequence[RollupRecord], keys: Sequence[str]) -> Named | None:
    best = max((r for r in recs if r.count), key=lambda r: r.max, default=None)
    if best is None:
        return None
    name = next((best.labels[k] for k in keys if best.labels.get(k)), best.series)
    return Named(name=name, value=best.max)


def _max(recs: Sequence[RollupRecord]) -> float | None:
    return max((r.max for r in recs if r.count), default=None)


def _max_int(recs: Sequence[RollupRecord]) -> int | None:
    value = _max(recs)
    return None if value is None else round(value)


def _last(recs: Sequence[RollupRecord]) -> int | None:
    """The latest value: how many fans the device has now, not on average."""
    latest = max((r for r in recs if r.count), key=_last_at, default=None)
    return None if latest is None else round(latest.last)


def _last_at(rec: RollupRecord) -> datetime:
    return rec.last_at


def _ups(series: dict[str, list[RollupRecord]]) -> UpsFigures | None:
    if not any(series.get(name) for name in _UPS):
        return None
    charge = series.get("ups_battery_charge_ratio", [])
    minutes = series.get("ups_battery_minutes_remaining", [])
    return UpsFigures(
        charge_min=min((r.min for r in charge if r.count), default=None),
        minutes_remaining_min=min((r.min for r in minutes if r.count), default=None),
        on_battery_samples=round(sum(r.sum for r in series.get("ups_on_battery", []))),
        replace_battery=any(r.max >= 1 for r in series.get("ups_battery_replace", [])),
    )
