"""A device's figures over a period, from its daily rollups folded over the period by
the database (:meth:`RollupReads.totals`): availability, CPU and memory, the fullest
filesystem or pool, the hottest sensor, fans, power supplies, interface errors and the
UPS battery. Pure: totals in, :class:`Figures` out.

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
from desk.storage.rollups import RollupTotal

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
)
INSPECTION_FULL = "inspection_full"
"""Read apart (:meth:`RollupReads.bucket_starts`): the days a full inspection ran."""
_UPS = ("ups_battery_charge_ratio", "ups_battery_minutes_remaining", "ups_on_battery")


@dataclass(frozen=True)
class Reach:
    """Whether the device answered in the period, and if not, what is known of why."""

    reached: bool
    attempts: int
    """Inspections recorded (``up`` samples), answered or not."""
    last_error: str | None


def by_series(totals: Iterable[RollupTotal]) -> dict[str, list[RollupTotal]]:
    """A device's totals per series, in the order read (labels)."""
    out: dict[str, list[RollupTotal]] = defaultdict(list)
    for tot in totals:
        out[tot.series].append(tot)
    return dict(out)


def reach_of(series: dict[str, list[RollupTotal]]) -> Reach:
    """Reached: some ``up`` bucket has a sample of 1. The last error note of a failing
    bucket says why not (a wrong community, a timeout...)."""
    ups = series.get("up", [])
    return Reach(
        reached=any(t.sum > 0 for t in ups),
        attempts=sum(t.count for t in ups),
        last_error=next((t.note for t in reversed(ups) if t.note), None),
    )


def figures_of(series: dict[str, list[RollupTotal]]) -> Figures:
    up = series.get("up", [])
    count = sum(t.count for t in up)
    return Figures(
        availability=sum(t.sum for t in up) / count if count else None,
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


def inspection_days(starts: Iterable[datetime], timezone: str) -> set[date]:
    """Local days on which a full inspection ran (starts of ``inspection_full`` buckets
    that hold values)."""
    return {local_date(at, timezone) for at in starts}


def _stat(tots: Sequence[RollupTotal]) -> Stat:
    count = sum(t.count for t in tots)
    if not count:
        return Stat()
    return Stat(mean=sum(t.sum for t in tots) / count, peak=max(t.max for t in tots if t.count))


def _peak(tots: Sequence[RollupTotal], keys: Sequence[str]) -> Named | None:
    best = max((t for t in tots if t.count), key=lambda t: t.max, default=None)
    if best is None:
        return None
    name = next((best.labels[k] for k in keys if best.labels.get(k)), best.series)
    return Named(name=name, value=best.max)


def _max(tots: Sequence[RollupTotal]) -> float | None:
    return max((t.max for t in tots if t.count), default=None)


def _max_int(tots: Sequence[RollupTotal]) -> int | None:
    value = _max(tots)
    return None if value is None else round(value)


def _last(tots: Sequence[RollupTotal]) -> int | None:
    """The latest value: how many fans the device has now, not on average."""
    latest = max(
        (t for t in tots if t.count and t.last_at is not None and t.last is not None),
        key=_last_at,
        default=None,
    )
    return None if latest is None or latest.last is None else round(latest.last)


def _last_at(tot: RollupTotal) -> datetime:
    assert tot.last_at is not None
    return tot.last_at


def _ups(series: dict[str, list[RollupTotal]]) -> UpsFigures | None:
    if not any(series.get(name) for name in _UPS):
        return None
    charge = series.get("ups_battery_charge_ratio", [])
    minutes = series.get("ups_battery_minutes_remaining", [])
    return UpsFigures(
        charge_min=min((t.min for t in charge if t.count), default=None),
        minutes_remaining_min=min((t.min for t in minutes if t.count), default=None),
        on_battery_samples=round(sum(t.sum for t in series.get("ups_on_battery", []))),
        replace_battery=any(t.count and t.max >= 1 for t in series.get("ups_battery_replace", [])),
    )
