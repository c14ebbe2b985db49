"""Benchmark the console's heaviest pages: the queue and the dashboard, server time.

    .venv/bin/python bench/web/run.py [--tickets 5000] [--devices 2000] [--rounds 30]
        [--closed 20000] [--db postgresql://weibao@127.0.0.1:5432/bench]

Builds a desk on a temporary SQLite database (or on ``--db``: an empty database the
bench migrates and fills, and leaves filled) with ``--devices`` devices under contract
(20 customers, 10 sites each; every fifth customer counts its clocks in business hours)
and ``--tickets`` open tickets on them (each with its opening event, half acknowledged,
a third with evidence events that the clock replay must skip; one in 50 paused, one in
100 with an agreed due time, one in 100 reopened after a resolution), plus ``--closed``
closed tickets with their events (the history a desk keeps, which the queries must not
wade through). It logs in through the real form, then requests each page ``--rounds``
times through the ASGI app in this process (no network: the figure is the server's own
time, routing, session, queries, clock replay and rendering). Prints median and p90 per
page.

The target (issue #12): /queue under 200 ms median with 5,000 open tickets and 2,000
devices. The machine is shared and noisy; this is a script, not a test.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import rules  # noqa: E402
from desk.api import create_app  # noqa: E402
from desk.clocks import ClockName, ClockPolicy, clock_views  # noqa: E402
from desk.model import EventKind, Role  # noqa: E402
from desk.storage import EventRecord, Store  # noqa: E402
from desk.storage.tables import TicketEventRow, TicketRow  # noqa: E402
from desk.web.accounts import Accounts  # noqa: E402
from desk.worktime import ZERO  # noqa: E402
from weibao.clock import FrozenClock  # noqa: E402
from weibao.inventory.model import Inventory  # noqa: E402
from weibao.levels import Level  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PASSWORD = "bench password 1234"
CUSTOMERS = 20
SITES = 10
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


BUSINESS_HOURS = {"hours": ["09:00-12:00", "13:30-18:00"], "levels": ["III", "IV"]}


def inventory(devices: int) -> Inventory:
    per_site = max(1, devices // (CUSTOMERS * SITES))
    customers: list[dict[str, Any]] = []
    n = 0
    for c in range(CUSTOMERS):
        sites = []
        for s in range(SITES):
            devs = []
            for _d in range(per_site):
                if n >= devices:
                    break
                devs.append({"name": f"dev-{n:05d}", "kind": "server"})
                n += 1
            sites.append(
                {
                    "name": f"site-{c:02d}-{s:02d}",
                    "hq": s == 0,
                    "engineers": [{"name": f"eng-{c:02d}"}],
                    "devices": devs,
                }
            )
        customers.append(
            {
                "name": f"customer-{c:02d}",
                "contracts": [
                    {
                        "id": f"C-{c:02d}",
                        "name": f"contract {c}",
                        "start": "2026-01-01",
                        "end": "2026-12-31",
                        "service_manager": {"name": "manager"},
                        "pause_reasons": ["vendor part"],
                        "sites": sites,
                        **({"calendar": BUSINESS_HOURS} if c % 5 == 4 else {}),
                    }
                ],
            }
        )
    return Inventory.model_validate({"customers": customers})


def fill(store: Store, inv: Inventory, tickets: int, closed: int = 0) -> None:
    """``tickets`` open tickets, then ``closed`` closed ones, written as the desk would
    have: the stored clock columns are what :func:`desk.tickets.refresh_clocks` leaves."""
    contexts = inv.contexts()
    levels = list(Level)
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(tickets + closed):
        ctx = contexts[i % len(contexts)]
        level = levels[i % 4]
        detected = NOW - timedelta(minutes=(i * 7) % 600)
        if i >= tickets:
            detected -= timedelta(days=2 + (i - tickets) // 100)
        acked = i % 2 == 0
        log = _log(i, level, detected, acked, i >= tickets)
        policy = ClockPolicy.of(ctx)
        views = clock_views(policy, level, detected, log, NOW)
        status = "closed" if i >= tickets else "acknowledged" if acked else "open"
        if i < tickets and views[ClockName.resolve].met_at is not None:
            status = "resolved"
        rows.append(
            {
                "id": i + 1,
                "number": f"WB-2026-{i + 1:06d}",
                "fingerprint": f"rule_{i}:{ctx.device.name}",
                "rule": f"rule_{i % 50}",
                "customer": ctx.customer.name,
                "contract": ctx.contract.id,
                "site": ctx.site.name,
                "site_hq": ctx.site.hq,
                "timezone": ctx.site.timezone,
                "device": ctx.device.name,
                "level": level.value,
                "status": status,
                "title": f"{ctx.device.name} fault {i}",
                "description": "",
                "labels": {},
                "detected_at": detected,
                "due_response": views.due.response,
                "due_onsite": views.due.onsite,
                "due_resolve": views.due.resolve,
                "met_response": views[ClockName.response].met_at,
                "met_onsite": views[ClockName.onsite].met_at,
                "met_resolve": views[ClockName.resolve].met_at,
                "closed_at": NOW if i >= tickets else None,
                "last_seen_at": detected,
                "evidence_count": 1,
                "created_at": detected,
                "updated_at": detected,
                "assignee": f"eng-{int(ctx.customer.name[-2:]):02d}",
                "internal": False,
                "recurrences": 0,
                "related": [],
                "snapshot": {},
            }
        )
        events.extend(
            {"ticket_id": i + 1, "at": e.at, "kind": e.kind, "actor": e.actor, "data": e.data}
            for e in log
        )
        if i % 3 == 0:
            for k in range(5):
                events.append(
                    {
                        "ticket_id": i + 1,
                        "at": detected + timedelta(minutes=k),
                        "kind": EventKind.evidence.value,
                        "actor": "weibao",
                        "data": {"level": level.value},
                    }
                )
    with store.write_session() as session:
        session.execute(insert(TicketRow), rows)
        session.execute(insert(TicketEventRow), events)


def _log(i: int, level: Level, detected: datetime, acked: bool, closed: bool) -> list[EventRecord]:
    """The clock-moving events of ticket ``i``: opened, maybe acknowledged, and for a few
    a pause still running, an agreed due time, or a resolution and a reopen."""
    at: list[tuple[timedelta, EventKind, dict[str, Any]]] = [
        (ZERO, EventKind.opened, {"level": level.value, "rule": f"rule_{i % 50}"})
    ]
    if acked or closed:
        at.append((timedelta(minutes=3), EventKind.acknowledged, {}))
    if closed:
        at.append((timedelta(minutes=40), EventKind.arrived, {}))
        at.append((timedelta(hours=2), EventKind.resolved, {}))
        at.append((timedelta(hours=3), EventKind.closed, {}))
    elif i % 50 == 7:
        at.append((timedelta(minutes=5), EventKind.paused, {"reason": "vendor part"}))
    elif i % 100 == 11:
        due = (detected + timedelta(days=2)).isoformat()
        moved = {"clock": "resolve", "due": due, "previous": detected.isoformat()}
        at.append(
            (timedelta(minutes=4), EventKind.due_moved, {**moved, "reason": "r", "agreed_by": "c"})
        )
    elif i % 100 == 13 and acked:
        at.append((timedelta(minutes=6), EventKind.resolved, {}))
        at.append((timedelta(minutes=9), EventKind.reopened, {"reason": "again"}))
    actor = "weibao"
    return [
        EventRecord(0, i + 1, detected + offset, kind.value, actor, data)
        for offset, kind, data in at
    ]


async def measure(app: Any, paths: list[str], rounds: int) -> dict[str, list[float]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.bench") as client:
        form = await client.get("/login")
        token = _CSRF.search(form.text)
        assert token is not None
        answer = await client.post(
            "/login",
            data={"username": "boss", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, answer.text
        times: dict[str, list[float]] = {p: [] for p in paths}
        for path in paths:
            first = await client.get(path)  # warm caches and templates
            assert first.status_code == 200, (path, first.status_code)
            for _ in range(rounds):
                started = time.perf_counter()
                page = await client.get(path)
                times[path].append((time.perf_counter() - started) * 1000)
                assert page.status_code == 200
        return times


def run(
    tickets: int, devices: int, rounds: int, closed: int = 0, db: str | None = None
) -> dict[str, tuple[float, float]]:
    """Median and p90 in milliseconds for each page."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.migrate()
        with store.read_session() as session:
            if session.scalar(select(func.count()).select_from(TicketRow)):
                store.close()
                raise SystemExit(f"{db}: the database has tickets already; give an empty one")
        inv = inventory(devices)
        fill(store, inv, tickets, closed)
        clock = FrozenClock(NOW)
        Accounts(store, clock).add("boss", PASSWORD, Role.manager, "Boss")
        app = create_app(store, inv, rules.load_engine(), clock)
        paths = ["/queue", "/queue?limit=1000", "/dashboard"]
        times = anyio.run(measure, app, paths, rounds)
        store.close()
    return {
        path: (statistics.median(values), statistics.quantiles(values, n=10)[-1])
        for path, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--closed", type=int, default=20000, help="closed tickets (history)")
    parser.add_argument("--db", help="an empty database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    figures = run(args.tickets, args.devices, args.rounds, args.closed, args.db)
    where = "SQLite" if args.db is None else args.db.split(":", 1)[0]
    print(
        f"web console on {where}, {args.tickets} open tickets ({args.closed} closed), "
        f"{args.devices} devices, {args.rounds} rounds"
    )
    print(f"{'page':<22} {'median ms':>10} {'p90 ms':>10}")
    for path, (median, p90) in figures.items():
        print(f"{path:<22} {median:>10.1f} {p90:>10.1f}")


if __name__ == "__main__":
    main()
