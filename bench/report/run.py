"""The reports benchmark of issue 11: time and peak memory of the inspection report and
the quarterly statistics, on SQLite and PostgreSQL.

    .venv/bin/python bench/report/run.py [--quick] [--db sqlite|postgresql|both]
                                         [--rounds 3] [--json]

Per database (a file in a temporary directory; a throwaway PostgreSQL cluster on
127.0.0.1 started and stopped here):

1. *verify*: the same devices and hours once as real observations rolled up by the desk
   (``Rollups.catch_up``) and once as generated rollup rows; both read back through
   ``RollupReads``, row for row equal, or the run stops;
2. *keep-up*: an hour of the 500-device fleet (30,000 observations of 30 samples) stored
   as the ingest stores them, with a catch-up every 5 minutes as housekeeping runs it,
   then the same hour rolled up at once: throughput, and the share of a core it costs;
3. *inspection*: one customer, 500 devices, November 2026 as hourly and daily rollup rows,
   430 tickets with events, snapshots and raw output; the report in PDF, HTML, XLSX and
   JSON (``ReportMaker.render``, as the API makes it), each in a fresh process;
4. *quarterly*: 2,000 devices of 8 customers (3 with business-hours contracts), 20,000
   tickets over 2026-Q4 with their events, escalations and part uses, 92 days of ``up``
   rollups; the company's statistics in PDF and XLSX, same method.

Peers in the same run: plain SQL reading what the report reads (the floor any report
pays), and poppler's ``pdftotext`` over the produced PDF. Medians of ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bulk
import fleet
import pg
import tickets
from sqlalchemy import create_engine, text

from desk.rollups import Rollups
from desk.storage import Store
from desk.storage.rollups import RollupReads
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

WORKER = Path(__file__).with_name("worker.py")
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
QUARTER = (date(2026, 10, 1), date(2026, 12, 31))
NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
KEEPUP_HOUR = datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
TARGET_SECONDS = 10.0
TARGET_MB = 500.0
Row = dict[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, help="rounds per measurement (default 3)")
    parser.add_argument("--no-hourly", action="store_true", help="skip the month's hourly rows")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--keep", type=Path, help="write the databases here and keep them (to re-measure)"
    )
    args = parser.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds or (1 if q else 3)
    args.inspection_devices = 12 if q else 500
    args.inspection_tickets = 4 if q else 400
    args.carried_tickets = 1 if q else 30
    args.keepup_devices = 10 if q else 500
    args.keepup_minutes = 10 if q else 60
    args.quarter_devices = [20, 10, 10] if q else [400, 300, 300, 250, 250, 200, 150, 150]
    args.quarter_calendars = {1} if q else {1, 3, 5}
    args.quarter_tickets = 60 if q else 20_000
    return args


def progress(text_: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text_}", file=sys.stderr, flush=True)


# --- databases ---------------------------------------------------------------------------


@contextmanager
def databases(kind: str, tmp: Path) -> Iterator[tuple[Any, Path | None]]:
    """A function name -> fresh database URL, and the PostgreSQL data directory."""
    if kind == "sqlite":
        yield (lambda name: f"sqlite:///{tmp / (name + '.db')}"), None
        return
    with pg.cluster() as (url, data):
        engine = create_engine(url, isolation_level="AUTOCOMMIT")

        def make(name: str) -> str:
            with engine.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            return url.rsplit("/", 1)[0] + "/" + name

        try:
            yield make, data
        finally:
            engine.dispose()


def fresh_store(url: str) -> Store:
    store = Store(url)
    store.migrate()
    return store


def analyze(url: str) -> None:
    """What a long-running database has: planner statistics (autovacuum's on PostgreSQL)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


# --- 1. verify ---------------------------------------------------------------------------


def verify(make: Any, inventory: Inventory, devices: list[str]) -> Row:
    """Generated rows == what catch-up makes of the same observations, row for row."""
    day = next(
        d for d in range(300, 340) if d % 9 == 5 and (fleet.EPOCH + timedelta(d)).weekday() < 5
    )
    start = fleet.EPOCH + timedelta(days=day - 1, hours=12)
    end = start + timedelta(hours=32)
    picked = sorted({devices[0], devices[3], devices[5], devices[-1], *devices[-3:]})
    real = fresh_store(make("verify_real"))
    with real.transaction() as tx:
        for device in picked:
            for obs in fleet.observations(device, start, end):
                tx.insert_observation(obs, True, obs.time + timedelta(seconds=5))
    clock = FrozenClock(end + timedelta(minutes=10))
    Rollups(real, inventory, clock).catch_up(clock.now())
    made_url = make("verify_made")
    fresh_store(made_url).close()
    clocks = fleet.Clocks.of(inventory)
    out = bulk.writer(made_url)
    for device in picked:
        hourly, daily = fleet.rollup_rows(device, clocks.times[device], start, end)
        out.write("rollups_hourly", hourly)
        out.write("rollups_daily", daily)
    out.close()
    made = Store(made_url)
    wide = (start - timedelta(days=1), end + timedelta(days=1))
    compared = 0
    for grain in ("hour", "day"):
        a = RollupReads(real).series(*wide, grain=grain, devices=picked)  # type: ignore[arg-type]
        b = RollupReads(made).series(*wide, grain=grain, devices=picked)  # type: ignore[arg-type]
        if len(a) != len(b):
            raise SystemExit(f"verify: {len(a)} {grain} rows from catch-up, {len(b)} generated")
        for x, y in zip(a, b, strict=True):
            _same(x, y)
            compared += 1
    real.close()
    made.close()
    return {"devices": len(picked), "hours": 32, "rows_compared": compared}


def _same(x: Any, y: Any) -> None:
    for field in (
        "device",
        "series",
        "labels",
        "start",
        "count",
        "last_at",
        "service_count",
        "note",
    ):
        if getattr(x, field) != getattr(y, field):
            raise SystemExit(f"verify: {field} differs:\n catch-up  {x}\n generated {y}")
    for field in ("sum", "min", "max", "last", "service_sum"):
        a, b = getattr(x, field), getattr(y, field)
        if abs(a - b) > 1e-9 * max(1.0, abs(a)):
            raise SystemExit(f"verify: {field} differs:\n catch-up  {x}\n generated {y}")


# --- 2. keep-up --------------------------------------------------------------------------


def keepup(
    make: Any, inventory: Inventory, devices: list[str], minutes: int, pg_data: Path | None
) -> Row:
    """An hour of observations with a catch-up every 5 minutes, then the hour at once."""
    url = make("keepup")
    store = fresh_store(url)
    clock = FrozenClock(KEEPUP_HOUR)
    rollups = Rollups(store, inventory, clock)
    server = (lambda: pg.cpu_seconds(pg.server_pids(pg_data))) if pg_data else (lambda: 0.0)
    streams = {
        d: fleet.observations(d, KEEPUP_HOUR, KEEPUP_HOUR + timedelta(minutes=minutes + 1))
        for d in devices
    }
    insert_s = catch_s = catch_cpu = catch_server = 0.0
    observations = catch_ups = 0
    for slice_start in range(0, minutes, 5):
        batch = [[next(streams[d]) for d in devices] for _ in range(min(5, minutes - slice_start))]
        t0 = time.perf_counter()
        for minute in batch:  # one transaction per minute's push, as the ingest stores it
            with store.transaction() as tx:
                for obs in minute:
                    tx.insert_observation(obs, True, obs.time + timedelta(seconds=2))
                    observations += 1
        insert_s += time.perf_counter() - t0
        now = KEEPUP_HOUR + timedelta(minutes=slice_start + 5, seconds=30)
        clock.set(now)
        s0, t0, c0 = server(), time.perf_counter(), time.process_time()
        rollups.catch_up(now)
        catch_s += time.perf_counter() - t0
        catch_cpu += time.process_time() - c0
        catch_server += server() - s0
        catch_ups += 1
    # The same hour rolled up at once (a desk catching up after a stop).
    with store.write_session() as session:
        for table in ("rollups_hourly", "rollups_daily", "rollup_marks"):
            session.execute(text(f"DELETE FROM {table}"))
    now = KEEPUP_HOUR + timedelta(minutes=minutes + 5)
    s0, t0, c0 = server(), time.perf_counter(), time.process_time()
    written = Rollups(store, inventory, FrozenClock(now)).catch_up(now)
    once_s, once_cpu, once_server = (
        time.perf_counter() - t0,
        time.process_time() - c0,
        server() - s0,
    )
    unknown_s = _timed(store.unknown_devices)
    store.close()
    span = minutes * 60
    return {
        "devices": len(devices),
        "minutes": minutes,
        "observations": observations,
        "samples_per_observation": 30,
        "insert_s": insert_s,
        "catch_ups": catch_ups,
        "catch_up_s": catch_s,
        "catch_up_cpu_s": catch_cpu,
        "catch_up_server_cpu_s": catch_server,
        "core_share": (catch_cpu + catch_server) / span,
        "once_s": once_s,
        "once_cpu_s": once_cpu,
        "once_server_cpu_s": once_server,
        "once_rows": written,
        "once_obs_per_s": observations / once_s,
        "unknown_devices_s": unknown_s,
    }


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --- 3. and 4. the data sets -------------------------------------------------------------


def inspection_data(make: Any, args: argparse.Namespace, templates: list[Any]) -> Row:
    doc = fleet.inventory_doc([args.inspection_devices, 30], {0})
    inventory = Inventory.model_validate(doc)
    url = make("inspection")
    fresh_store(url).close()
    clocks = fleet.Clocks.of(inventory)
    start, end = fleet.month_bounds(*MONTH)
    out = bulk.writer(url)
    t0 = time.perf_counter()
    devices = list(inventory.device_index())
    for n, device in enumerate(devices):
        hourly, daily = fleet.rollup_rows(
            device, clocks.times[device], start, end, hourly=not args.no_hourly
        )
        out.write("rollups_hourly", hourly)
        out.write("rollups_daily", daily)
        if n % 50 == 49:
            out.commit()
            progress(f"  inspection rollups: {n + 1} of {len(devices)} devices")
    rows = out.rows
    out.close()
    ours = [d for d in devices if d.startswith("c00-")]
    month = tickets.copies(templates, inventory, ours, args.inspection_tickets, start, end, 1)
    before = tickets.copies(
        templates,
        inventory,
        ours,
        args.carried_tickets,
        start - timedelta(days=30),
        start,
        2,
        first_id=100_000,
    )
    for part in ("tickets", "events", "escalations", "parts"):
        getattr(month, part).extend(getattr(before, part))
    tickets.write(url, month)
    analyze(url)
    return {
        "url": url,
        "doc": doc,
        "rollup_rows": rows,
        "tickets": len(month.tickets),
        "events": len(month.events),
        "write_s": time.perf_counter() - t0,
        "devices": ours,
    }


def quarterly_data(make: Any, args: argparse.Namespace, templates: list[Any]) -> Row:
    doc = fleet.inventory_doc(args.quarter_devices, args.quarter_calendars)
    inventory = Inventory.model_validate(doc)
    url = make("quarterly")
    fresh_store(url).close()
    clocks = fleet.Clocks.of(inventory)
    start, end = fleet.month_bounds(*QUARTER)
    out = bulk.writer(url)
    t0 = time.perf_counter()
    devices = list(inventory.device_index())
    for n, device in enumerate(devices):
        _, daily = fleet.rollup_rows(
            device, clocks.times[device], start, end, hourly=False, only=("up",)
        )
        out.write("rollups_daily", daily)
        if n % 200 == 199:
            out.commit()
            progress(f"  quarterly rollups: {n + 1} of {len(devices)} devices")
    rows = out.rows
    out.close()
    batch = tickets.copies(templates, inventory, devices, args.quarter_tickets, start, end, 3)
    tickets.write(url, batch)
    analyze(url)
    return {
        "url": url,
        "doc": doc,
        "rollup_rows": rows,
        "tickets": len(batch.tickets),
        "events": len(batch.events),
        "escalations": len(batch.escalations),
        "part_uses": len(batch.parts),
        "write_s": time.perf_counter() - t0,
    }


# --- measuring ---------------------------------------------------------------------------


def worker(job: Row) -> Row:
    done = subprocess.run(
        [sys.executable, str(WORKER)],
        input=json.dumps(job),
        text=True,
        capture_output=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"the report worker failed ({job['kind']}):\n{done.stderr[-3000:]}")
    result: Row = json.loads(done.stdout)
    return result


def median_of(runs: list[Row]) -> Row:
    out: Row = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        out[key] = statistics.median(values) if isinstance(values[0], int | float) else values[0]
    out["rounds"] = len(runs)
    out["seconds_all"] = [round(r["seconds"], 3) for r in runs]
    return out


def measure_reports(
    data: Row, tmp: Path, kind: str, formats: list[str], rounds: int, floor_sql: list[str]
) -> list[Row]:
    inventory_path = tmp / f"{kind}-inventory.json"
    inventory_path.write_text(json.dumps(data["doc"], ensure_ascii=False))
    rows = []
    base = {
        "url": data["url"],
        "inventory": str(inventory_path),
        "now": NOW.isoformat(),
        "kind": kind,
        "period": "2026-11" if kind == "inspection" else "2026-Q4",
    }
    if kind == "inspection":
        base["customer"] = "客户00"
    for fmt in formats:
        output = tmp / f"{kind}.{fmt}"
        runs = [worker({**base, "format": fmt, "output": str(output)}) for _ in range(rounds)]
        row = {"report": kind, "format": fmt, **median_of(runs)}
        if fmt == "pdf":
            row["pdf_pages"] = _pdf_pages(output)
            argv = ["pdftotext", str(output), os.devnull]
            row["pdftotext_s"] = statistics.median(
                _timed(partial(subprocess.run, argv, check=True)) for _ in range(rounds)
            )
        rows.append(row)
        progress(f"  {kind} {fmt}: {row['seconds']:.2f} s, {row['maxrss_mb']:.0f} MB")
    floor = [worker({**base, "kind": "floor", "sql": floor_sql}) for _ in range(rounds)]
    rows.append({"report": kind, "format": "floor (plain SQL)", **median_of(floor)})
    return rows


def _pdf_pages(path: Path) -> int | None:
    done = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    return None


def floor_inspection(devices: list[str]) -> list[str]:
    start, end = fleet.month_bounds(*MONTH)
    names = ", ".join(f"'{d}'" for d in devices)
    return [
        f"SELECT device, series, labels, start, count, sum, min, max, last, last_at, "
        f"service_count, service_sum, note FROM rollups_daily WHERE start >= '{_lit(start)}' "
        f"AND start < '{_lit(end)}' AND device IN ({names})",
        "SELECT * FROM tickets WHERE customer = '客户00'",
        "SELECT e.* FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
        "WHERE t.customer = '客户00'",
    ]


def floor_quarterly() -> list[str]:
    start, end = fleet.month_bounds(*QUARTER)
    return [
        f"SELECT device, sum(count), sum(sum), sum(service_count), sum(service_sum) "
        f"FROM rollups_daily WHERE series = 'up' AND start >= '{_lit(start)}' "
        f"AND start < '{_lit(end)}' GROUP BY device",
        "SELECT id, number, rule, customer, contract, device, level, status, detected_at, "
        "assignee FROM tickets",
        "SELECT id, ticket_id, at, kind, actor, data FROM ticket_events",
        "SELECT * FROM escalations",
        "SELECT * FROM part_uses",
    ]


def _lit(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")  # both databases compare it as a UTC time


# --- the run -----------------------------------------------------------------------------


def run_backend(kind: str, args: argparse.Namespace, templates: list[Any], tmp: Path) -> Row:
    out: Row = {"db": kind}
    (tmp / kind).mkdir()
    with databases(kind, tmp / kind) as (make, pg_data):
        doc = fleet.inventory_doc([args.inspection_devices, 30], {0})
        inventory = Inventory.model_validate(doc)
        ours = [d for d in inventory.device_index() if d.startswith("c00-")]
        progress(f"{kind}: verify generated rollups against catch-up")
        out["verify"] = verify(make, inventory, ours)
        progress(f"{kind}: keep-up, {args.keepup_devices} devices, {args.keepup_minutes} min")
        out["keepup"] = keepup(
            make, inventory, ours[: args.keepup_devices], args.keepup_minutes, pg_data
        )
        progress(f"{kind}: writing the inspection month")
        data = inspection_data(make, args, templates)
        out["inspection_data"] = {
            k: v for k, v in data.items() if k not in ("doc", "url", "devices")
        }
        out["reports"] = measure_reports(
            data,
            tmp / kind,
            "inspection",
            ["pdf", "html", "xlsx", "json"],
            args.rounds,
            floor_inspection(data["devices"]),
        )
        progress(f"{kind}: writing the quarter")
        data = quarterly_data(make, args, templates)
        out["quarterly_data"] = {k: v for k, v in data.items() if k not in ("doc", "url")}
        out["reports"] += measure_reports(
            data, tmp / kind, "quarterly", ["pdf", "xlsx"], args.rounds, floor_quarterly()
        )
    return out


def describe_machine() -> Row:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    import sqlite3

    import weasyprint

    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg.version(),
        "weasyprint": weasyprint.__version__,
    }


def targets(backends: list[Row]) -> list[Row]:
    out = []
    for b in backends:
        for r in b["reports"]:
            if r["format"] not in ("pdf", "xlsx", "html", "json"):
                continue
            ok = r["seconds"] < TARGET_SECONDS and r["maxrss_mb"] < TARGET_MB
            out.append(
                {
                    "target": f"{r['report']} {r['format']} on {b['db']}: < 10 s, < 500 MB",
                    "pass": ok,
                    "detail": f"{r['seconds']:.2f} s, {r['maxrss_mb']:.0f} MB",
                }
            )
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    load_before = os.getloadavg()
    doc: Row = {"machine": describe_machine(), "quick": args.quick, "rounds": args.rounds}
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    progress("making ticket templates with the desk's own code")
    templates = tickets.make_templates(progress, starts=1 if args.quick else None)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        doc["backends"] = [run_backend(k, args, templates, args.keep) for k in kinds]
    else:
        with tempfile.TemporaryDirectory(prefix="weibao-bench-report-") as tmp:
            doc["backends"] = [run_backend(k, args, templates, Path(tmp)) for k in kinds]
    doc["targets"] = targets(doc["backends"])
    doc["load"] = {"before": load_before, "after": os.getloadavg()}
    doc["seconds"] = round(time.monotonic() - started, 1)
    doc["bench_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=str)
        print()
    else:
        print_text(doc)


def print_text(doc: Row) -> None:
    print("machine: " + "; ".join(f"{k} {v}" for k, v in doc["machine"].items()))
    print(f"load average before / after: {doc['load']['before']} / {doc['load']['after']}")
    print(f"medians of {doc['rounds']} rounds, each report in a fresh process\n")
    for b in doc["backends"]:
        k = b["keepup"]
        print(f"== {b['db']} ==")
        print(
            f"verify: {b['verify']['rows_compared']} rollup rows of {b['verify']['devices']} "
            f"devices x {b['verify']['hours']} h equal to catch-up's"
        )
        print(
            f"keep-up: {k['devices']} devices x {k['minutes']} min = {k['observations']:,} "
            f"observations; stored in {k['insert_s']:.1f} s; {k['catch_ups']} catch-ups "
            f"{k['catch_up_s']:.1f} s wall, {k['catch_up_cpu_s']:.1f} s desk CPU + "
            f"{k['catch_up_server_cpu_s']:.1f} s server CPU = {k['core_share']:.1%} of a core; "
            f"the hour at once {k['once_s']:.1f} s ({k['once_obs_per_s']:,.0f} obs/s, "
            f"{k['once_rows']:,} rows); unknown_devices() {k['unknown_devices_s'] * 1000:.0f} ms"
        )
        i, q = b["inspection_data"], b["quarterly_data"]
        print(
            f"inspection data: {i['rollup_rows']:,} rollup rows, {i['tickets']} tickets, "
            f"{i['events']:,} events ({i['write_s']:.0f} s to write)"
        )
        print(
            f"quarterly data: {q['rollup_rows']:,} daily rows, {q['tickets']:,} tickets, "
            f"{q['events']:,} events, {q['escalations']:,} escalations, {q['part_uses']:,} "
            f"part uses ({q['write_s']:.0f} s to write)\n"
        )
        print(
            "| report | format | seconds | build | render | peak RSS MB | start s | size KB "
            "| pages | pdftotext s | vs floor |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        floors = {
            r["report"]: r["seconds"] for r in b["reports"] if r["format"].startswith("floor")
        }
        for r in b["reports"]:
            ratio = r["seconds"] / floors[r["report"]]
            pdf = f"{r['pdf_pages']} | {r['pdftotext_s']:.2f}" if "pdftotext_s" in r else " | "
            print(
                f"| {r['report']} | {r['format']} | {r['seconds']:.2f} "
                f"| {r.get('build_s', 0):.2f} | {r.get('render_s', 0):.2f} "
                f"| {r['maxrss_mb']:.0f} | {r['start_s']:.2f} | {r.get('bytes', 0) / 1024:.0f} "
                f"| {pdf} | {ratio:.0f}x |"
            )
        print()
    print("targets (issue 11)\n")
    for t in doc["targets"]:
        print(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['detail']}")
    print(f"\n{doc['seconds']:.0f} s in all")


if __name__ == "__main__":
    main()
