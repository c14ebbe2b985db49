"""The benchmark's inventory, and one value model that gives both real observations and
the rollup rows catch-up would make of them.

Every device has 30 samples a minute (what an agent's health inspection sends): ``up``,
CPU, memory, three filesystems, four temperatures, six fans, two power supplies, eight
interfaces' error rates, four interfaces' bit rates. Values come from :func:`day_values`,
seeded by (device, UTC day), so :func:`observations` (inserted and rolled up by the desk)
and :func:`rollup_rows` (written straight into the tables) describe the same minutes;
``run.py --verify`` checks that the two agree row for row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from desk.rollups import DeviceTime, local_day
from desk.storage.rollups import encode_labels
from desk.worktime import ZERO, BusinessHours
from weibao.inventory.model import Inventory
from weibao.observation import Observation, Source

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY_MINUTES = 1440
MOUNTS = ("/", "/var", "/data")
SENSORS = ("cpu0", "cpu1", "inlet", "exhaust")
FANS = 6
PSUS = 2
IFACES = 8
DOWN_ERROR = "ConnectError: connection refused"
FULL_HOUR_UTC = 18  # the daily full inspection: 02:00 in Asia/Shanghai
CALENDAR = {"hours": "09:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
PAUSE_REASONS = ["等待客户确认", "等待厂商备件"]

ROLLUP_COLUMNS = (
    "device",
    "series",
    "labels",
    "start",
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


# --- inventory -------------------------------------------------------------------------


def device_name(customer: int, n: int) -> str:
    return f"c{customer:02d}-dev-{n:04d}"


def inventory_doc(devices: list[int], calendars: set[int]) -> dict[str, Any]:
    """Customers ``i`` with ``devices[i]`` devices each, two contracts per customer (the
    second one under business hours when ``i`` is in ``calendars``), four sites each."""
    customers = []
    for c, count in enumerate(devices):
        names = [device_name(c, n) for n in range(count)]
        half = (count + 1) // 2
        contracts = []
        for k, chunk in enumerate((names[:half], names[half:])):
            if not chunk:
                continue
            contract: dict[str, Any] = {
                "id": f"C{c:02d}-2026-{k + 1}",
                "name": f"客户{c:02d} 2026 年度维保 {k + 1}",
                "start": "2026-01-01",
                "end": "2027-06-30" if k == 0 else "2027-01-31",
                "service_manager": {"name": f"经理{c % 3}"},
                "customer_contact": {"name": f"联系人{c:02d}"},
                "pause_reasons": PAUSE_REASONS,
                "sites": _sites(c, k, chunk),
            }
            if k == 1 and c in calendars:
                contract["calendar"] = CALENDAR
            contracts.append(contract)
        customers.append({"name": f"客户{c:02d}", "code": f"C{c:02d}", "contracts": contracts})
    return {
        "customers": customers,
        "reports": {
            "company": {"name": "上海维保科技有限公司", "phone": "021-5555 0000"},
            "approved_by": "陈总",
            "raw_retention": "400d",
        },
    }


def _sites(c: int, k: int, names: list[str]) -> list[dict[str, Any]]:
    per = math.ceil(len(names) / 2)
    sites = []
    for s in range(2):
        chunk = names[s * per : (s + 1) * per]
        if not chunk:
            continue
        sites.append(
            {
                "name": f"客户{c:02d} 机房 {k}-{s}",
                "hq": k == 0 and s == 0,
                "engineers": [
                    {"name": f"工程师{(c + s) % 7}"},
                    {"name": f"工程师{(c + s + 1) % 7}"},
                ],
                "devices": [_device(name) for name in chunk],
            }
        )
    return sites


def _device(name: str) -> dict[str, Any]:
    n = int(name.rsplit("-", 1)[1])
    kind = ("server", "server", "server", "switch", "storage", "firewall")[n % 6]
    device: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "vendor": "Huawei",
        "model": "2288H V5",
        "serial": f"21023{n:011d}",
    }
    if n % 50 == 7:
        device["warranty_end"] = "2027-01-15"
    return device


# --- the value model -------------------------------------------------------------------


def index_of(device: str) -> int:
    customer, _, n = device.partition("-dev-")
    return int(customer[1:]) * 10_000 + int(n)


def is_dead(d: int) -> bool:
    """Never answers (its report verdict: 未知)."""
    return d % 125 == 124


def day_values(d: int, day: int, up_only: bool = False) -> dict[str, np.ndarray]:
    """Every sample of device ``d`` for the 1,440 minutes of UTC day ``day`` (since EPOCH),
    as arrays; ``up`` 0 means the inspection failed and sent nothing else."""
    rng = np.random.default_rng([d, day])
    t = (np.arange(DAY_MINUTES) + day * DAY_MINUTES) / DAY_MINUTES  # days since EPOCH
    phase = (d % 17) / 17 * 2 * np.pi
    out: dict[str, np.ndarray] = {}
    up = np.ones(DAY_MINUTES)
    if is_dead(d):
        up[:] = 0
    elif d % 37 == 5 and day % 9 == d % 9:
        up[600:660] = 0  # an hour's outage
    elif d % 11 == 3:
        up[rng.integers(0, DAY_MINUTES, 3)] = 0  # a few lost polls
    out["up"] = up
    if up_only:
        return out
    out["cpu"] = np.round(
        np.clip(
            0.25 + 0.15 * np.sin(2 * np.pi * t + phase) + rng.normal(0, 0.03, DAY_MINUTES), 0, 1
        ),
        4,
    )
    out["mem"] = np.round(
        np.clip(0.45 + (d % 7) * 0.05 + rng.normal(0, 0.01, DAY_MINUTES), 0, 1), 4
    )
    for i, _ in enumerate(MOUNTS):
        base = 0.3 + ((d + i) % 9) * 0.07
        out[f"fs{i}"] = np.round(np.minimum(base + (t % 30) * 0.002 * (i + 1), 0.99), 4)
    for i, _ in enumerate(SENSORS):
        out[f"temp{i}"] = np.round(
            38 + i * 4 + 3 * np.sin(2 * np.pi * t + phase) + rng.normal(0, 0.5, DAY_MINUTES), 1
        )
    fails = np.zeros(DAY_MINUTES)
    if d % 40 == 3 and day % 30 >= 10:
        fails[:] = 1  # one fan failed from the 10th
    out["fans_failed"] = fails
    psu = np.zeros(DAY_MINUTES)
    if d % 97 == 11 and day % 5 == 0:
        psu[300:420] = 1
    out["psu_failed"] = psu
    errors = rng.random((IFACES, DAY_MINUTES)) < 0.01
    out["iferr"] = np.round(errors * rng.random((IFACES, DAY_MINUTES)) * 5, 3)
    out["ifbits"] = np.round(rng.random((4, DAY_MINUTES)) * 1e8)
    return out


def offset_seconds(d: int) -> int:
    return d % 50


def minute_time(m: int, d: int) -> datetime:
    return EPOCH + m * MINUTE + timedelta(seconds=offset_seconds(d))


def is_full(m: int) -> bool:
    return m % DAY_MINUTES == FULL_HOUR_UTC * 60


def samples_at(v: dict[str, np.ndarray], i: int) -> list[dict[str, Any]]:
    """The 30 samples of minute ``i`` of a day's values (a successful inspection)."""
    s: list[dict[str, Any]] = [
        {"name": "up", "value": 1.0},
        {"name": "cpu_usage_ratio", "value": float(v["cpu"][i])},
        {"name": "memory_usage_ratio", "value": float(v["mem"][i])},
    ]
    for k, mount in enumerate(MOUNTS):
        s.append(
            {
                "name": "filesystem_usage_ratio",
                "labels": {"mountpoint": mount},
                "value": float(v[f"fs{k}"][i]),
            }
        )
    for k, sensor in enumerate(SENSORS):
        s.append(
            {
                "name": "temperature_celsius",
                "labels": {"sensor": sensor},
                "value": float(v[f"temp{k}"][i]),
            }
        )
    failed = int(v["fans_failed"][i])
    for k in range(FANS):
        s.append(
            {
                "name": "fan_ok",
                "labels": {"fan": f"Fan{k + 1}"},
                "value": 0.0 if k < failed else 1.0,
            }
        )
    bad = int(v["psu_failed"][i])
    for k in range(PSUS):
        s.append(
            {
                "name": "power_supply_ok",
                "labels": {"psu": f"PSU{k + 1}"},
                "value": 0.0 if k < bad else 1.0,
            }
        )
    for k in range(IFACES):
        s.append(
            {
                "name": "interface_errors_rate",
                "labels": {"interface": f"eth{k}"},
                "value": float(v["iferr"][k][i]),
            }
        )
    for k in range(4):
        s.append(
            {
                "name": "interface_bits_rate",
                "labels": {"interface": f"eth{k}"},
                "value": float(v["ifbits"][k][i]),
            }
        )
    return s


def observations(device: str, start: datetime, end: datetime) -> Iterator[Observation]:
    """The agent's inspections of ``device`` in [start, end), one a minute."""
    d = index_of(device)
    first, last = _minutes(start, end)
    cache: dict[int, dict[str, np.ndarray]] = {}
    for m in range(first, last):
        day, i = divmod(m, DAY_MINUTES)
        if day not in cache:
            cache.clear()
            cache[day] = day_values(d, day)
        v = cache[day]
        at = minute_time(m, d)
        meta = {"inspection": "full" if is_full(m) else "health"}
        oid = f"{device}-{m}"
        if v["up"][i] == 0:
            yield Observation.model_construct(
                id=oid,
                device=device,
                source=Source.agent,
                time=at,
                ok=False,
                error=DOWN_ERROR,
                samples=[_sample("up", 0.0)],
                meta=meta,
                raw={},
            )
        else:
            samples = [_sample(**x) for x in samples_at(v, i)]
            yield Observation.model_construct(
                id=oid,
                device=device,
                source=Source.agent,
                time=at,
                ok=True,
                error=None,
                samples=samples,
                meta=meta,
                raw={},
            )


def _sample(name: str, value: float, labels: dict[str, str] | None = None) -> Any:
    from weibao.observation import Sample

    return Sample.model_construct(name=name, labels=labels or {}, value=value)


def _minutes(start: datetime, end: datetime) -> tuple[int, int]:
    return int((start - EPOCH) / MINUTE), int((end - EPOCH) / MINUTE)


# --- the rollup rows catch-up would write ----------------------------------------------


@dataclass
class Clocks:
    """Each device's site time zone and service hours, as the rollup job has them."""

    times: dict[str, DeviceTime]

    @classmethod
    def of(cls, inventory: Inventory) -> Clocks:
        from zoneinfo import ZoneInfo

        times: dict[str, DeviceTime] = {}
        shared: dict[tuple[str, str], DeviceTime] = {}
        for name, ctx in inventory.device_index().items():
            key = (ctx.contract.id, ctx.site.timezone)
            if key not in shared:
                cal = ctx.contract.calendar
                hours = None if cal is None else BusinessHours(cal, ctx.site.timezone)
                shared[key] = DeviceTime(ZoneInfo(ctx.site.timezone), hours)
            times[name] = shared[key]
        return cls(times)


_MASKS: dict[tuple[int, int, int, int], np.ndarray] = {}


def _service_mask(dt: DeviceTime, first: int, n: int, d: int) -> np.ndarray:
    """In service hours, per minute (decided as the rollup job decides it, per hour)."""
    key = (id(dt), first, n, offset_seconds(d))
    if key not in _MASKS:
        _MASKS[key] = _compute_mask(dt, first, n, d)
    return _MASKS[key]


def _compute_mask(dt: DeviceTime, first: int, n: int, d: int) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    if dt.hours is None:
        return mask
    for h in range(0, n, 60):
        hour = EPOCH + (first + h) * MINUTE
        covered = dt.hours.between(hour, hour + HOUR)
        if covered == HOUR:
            continue
        if covered == ZERO:
            mask[h : h + 60] = False
            continue
        test = dt.service_test(hour)
        for k in range(60):
            mask[h + k] = test(minute_time(first + h + k, d))
    return mask


Row = tuple[Any, ...]


def rollup_rows(
    device: str,
    dt: DeviceTime,
    start: datetime,
    end: datetime,
    *,
    hourly: bool = True,
    only: tuple[str, ...] | None = None,
) -> tuple[list[Row], list[Row]]:
    """(hourly rows, daily rows) of ``device`` over whole UTC hours [start, end), in
    :data:`ROLLUP_COLUMNS` order, as catch-up computes them from :func:`observations`."""
    d = index_of(device)
    first, last = _minutes(start, end)
    n = last - first
    day0, day1 = first // DAY_MINUTES, (last - 1) // DAY_MINUTES
    up_only = only == ("up",)
    days = [day_values(d, day, up_only) for day in range(day0, day1 + 1)]
    lo = first - day0 * DAY_MINUTES

    def cat(key: str) -> np.ndarray:
        return np.concatenate([v[key] for v in days], axis=-1)[..., lo : lo + n]

    up = cat("up")
    ok = up == 1
    serving = _service_mask(dt, first, n, d)
    series: list[tuple[str, str, np.ndarray, np.ndarray]] = [("up", "", up, np.ones(n, bool))]
    if up_only:
        return _finish(device, dt, start, n, d, ok, serving, series, hourly)
    full = (np.arange(first, last) % DAY_MINUTES) == FULL_HOUR_UTC * 60
    series += [("cpu_usage_ratio", "", cat("cpu"), ok), ("memory_usage_ratio", "", cat("mem"), ok)]
    for k, mount in enumerate(MOUNTS):
        labels = encode_labels({"mountpoint": mount})
        series.append(("filesystem_usage_ratio", labels, cat(f"fs{k}"), ok))
    for k, sensor in enumerate(SENSORS):
        series.append(
            ("temperature_celsius", encode_labels({"sensor": sensor}), cat(f"temp{k}"), ok)
        )
    series += [
        ("fans", "", np.full(n, float(FANS)), ok),
        ("fans_failed", "", cat("fans_failed"), ok),
        ("power_supplies", "", np.full(n, float(PSUS)), ok),
        ("power_supplies_failed", "", cat("psu_failed"), ok),
        ("interface_errors_rate_total", "", cat("iferr").sum(axis=0), ok),
        ("inspection_full", "", np.ones(n), full),
    ]
    if only is not None:
        series = [s for s in series if s[0] in only]
    return _finish(device, dt, start, n, d, ok, serving, series, hourly)


def _finish(
    device: str,
    dt: DeviceTime,
    start: datetime,
    n: int,
    d: int,
    ok: np.ndarray,
    serving: np.ndarray,
    series: list[tuple[str, str, np.ndarray, np.ndarray]],
    hourly: bool,
) -> tuple[list[Row], list[Row]]:
    hours = n // 60
    offset = offset_seconds(d)
    down = (~ok).reshape(hours, 60).any(axis=1)
    day_of = [local_day(start + h * HOUR, dt.tz)[0] for h in range(hours)]
    out_hourly: list[Row] = []
    day_acc: dict[tuple[str, str, datetime], list[Any]] = {}
    for name, labels, values, present in sorted(series, key=lambda s: (s[0], s[1])):
        v = values.reshape(hours, 60)
        p = present.reshape(hours, 60)
        sp = p & serving.reshape(hours, 60)
        counts = p.sum(axis=1)
        sums = np.where(p, v, 0.0).sum(axis=1)
        lows = np.where(p, v, np.inf).min(axis=1)
        highs = np.where(p, v, -np.inf).max(axis=1)
        last_i = 59 - np.argmax(p[:, ::-1], axis=1)
        lasts = v[np.arange(hours), last_i]
        s_counts = sp.sum(axis=1)
        s_sums = np.where(sp, v, 0.0).sum(axis=1)
        for h in np.nonzero(counts)[0].tolist():
            hour = start + h * HOUR
            note = DOWN_ERROR if name == "up" and down[h] else None
            row = (
                device,
                name,
                labels,
                hour,
                int(counts[h]),
                float(sums[h]),
                float(lows[h]),
                float(highs[h]),
                float(lasts[h]),
                hour + timedelta(seconds=offset + 60 * int(last_i[h])),
                int(s_counts[h]),
                float(s_sums[h]),
                note,
            )
            if hourly:
                out_hourly.append(row)
            _fold(day_acc, (name, labels, day_of[h]), row)
    daily = [
        (device, name, labels, day, *acc)
        for (name, labels, day), acc in sorted(day_acc.items(), key=lambda x: x[0])
    ]
    return out_hourly, daily


def _fold(acc: dict[tuple[str, str, datetime], list[Any]], key: Any, row: Row) -> None:
    _, _, _, _, count, total, low, high, last, last_at, s_count, s_sum, note = row
    have = acc.get(key)
    if have is None:
        acc[key] = [count, total, low, high, last, last_at, s_count, s_sum, note]
        return
    have[0] += count
    have[1] += total
    have[2] = min(have[2], low)
    have[3] = max(have[3], high)
    if last_at >= have[5]:
        have[4], have[5] = last, last_at
    have[6] += s_count
    have[7] += s_sum
    if note is not None:
        have[8] = note


def month_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC hours covering the local (Asia/Shanghai) days first..last."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return start, end
