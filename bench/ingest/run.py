"""Ingest at fleet scale (issue #13 items 2, 3 and 5), measured from outside: real
``weibao serve`` processes on 127.0.0.1, SQLite or a throwaway PostgreSQL cluster,
observations of 32 samples (a health inspection) POSTed in batches of 100 by concurrent
pushers, as collectors do.

For each fleet size the desk first takes one observation of every device (so its rule
state holds the whole fleet), then the measured batches, each of devices drawn at random.
Figures: observations/s, and the desk's CPU per batch (utime + stime of the desk process
from /proc, so other work on the machine does not count; PostgreSQL's own CPU apart).

    .venv/bin/python bench/ingest/run.py [--db sqlite|postgresql|both]
        [--devices 100,1000,20000,50000] [--batches 200] [--pushers 4]
        [--two-desks 20000] [--latency 20000] [--json FILE]

``--two-desks N`` also runs two desk processes on one PostgreSQL at N devices;
``--latency N`` measures alarm to ticket (a new ``trap_alarm`` on a probe device, the
request's round trip, whose answer names the ticket) while pushers keep the desk at
half the rate it reached at N devices.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
BATCH = 100
PER_CORE = 1000  # devices behind each core switch: the rule state has topology to read
PROBE = "probe-01"


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pg = _load("bench_pg", HERE.parent / "report" / "pg.py")
desks_module = _load("bench_desks", HERE.parent / "desks.py")


def device_names(devices: int) -> list[str]:
    return [f"dev-{i:05d}" for i in range(devices)]


def inventory(devices: int) -> dict[str, Any]:
    cores = max(1, devices // PER_CORE)
    listed: list[dict[str, Any]] = [
        {"name": f"core-{c:02d}", "kind": "switch", "role": "core"} for c in range(cores)
    ]
    listed += [
        {"name": name, "kind": "switch", "depends_on": f"core-{i % cores:02d}"}
        for i, name in enumerate(device_names(devices))
    ]
    listed.append({"name": PROBE, "kind": "switch"})
    return desks_module.one_site_inventory(listed, "BENCH-2026")


def samples(rng: random.Random, at: float) -> list[dict[str, Any]]:
    """32 samples of a healthy device, as a health inspection sends them."""
    out: list[dict[str, Any]] = [
        {"name": "up", "value": 1.0},
        {"name": "cpu_usage_ratio", "value": round(rng.uniform(0.05, 0.6), 3)},
        {"name": "memory_usage_ratio", "value": round(rng.uniform(0.2, 0.7), 3)},
        {"name": "uptime_seconds", "value": round(at - 1.7e9, 1)},  # rising: no reboot
        {"name": "temperature_celsius", "labels": {"sensor": "inlet"}, "value": 24.0},
        {"name": "temperature_celsius", "labels": {"sensor": "cpu"}, "value": 45.0},
        {"name": "power_supply_ok", "labels": {"psu": "1"}, "value": 1.0},
        {"name": "power_supply_ok", "labels": {"psu": "2"}, "value": 1.0},
        {"name": "fan_ok", "labels": {"fan": "1"}, "value": 1.0},
        {"name": "fan_ok", "labels": {"fan": "2"}, "value": 1.0},
    ]
    for port in range(1, 12):
        labels = {"interface": f"GE1/0/{port}"}
        out.append({"name": "interface_up", "labels": labels, "value": 1.0})
        out.append({"name": "interface_errors_rate", "labels": labels, "value": 0.0})
    return out


def body(names: list[str], rng: random.Random, at: datetime | None = None) -> bytes:
    at = at or datetime.now(UTC)
    stamp = at.isoformat()
    return json.dumps(
        [
            {
                "id": uuid.uuid4().hex,
                "device": name,
                "source": "snmp",
                "time": stamp,
                "samples": samples(rng, at.timestamp()),
            }
            for name in names
        ]
    ).encode()


Desk = desks_module.Desk


def desks(workdir: Path, devices: int, db: str, count: int = 1, rules: Path | None = None) -> Any:
    """``count`` real ``weibao serve`` processes on one database; always stopped."""
    return desks_module.running_desks(workdir, inventory(devices), db, count, rules)


def agent_token(workdir: Path, db: str) -> str:
    return desks_module.make_token(workdir, db, "--role", "agent", "--any-device")


class Push:
    """Concurrent pushers POSTing prepared batches to the desks in turn."""

    def __init__(self, desks: list[Desk], token: str) -> None:
        self.desks = desks
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }

    def run(self, bodies: list[bytes], pushers: int, rate: float | None = None) -> float:
        """POST every body; ``rate``: at most this many batches a second. Wall seconds."""
        queue = list(reversed(bodies))
        lock = threading.Lock()
        errors: list[str] = []
        started = time.monotonic()
        sent = [0]

        def work(index: int) -> None:
            url = self.desks[index % len(self.desks)].url + "/api/v1/observations"
            with httpx.Client(timeout=300) as client:
                while not errors:
                    with lock:
                        if not queue:
                            return
                        content = queue.pop()
                        sent[0] += 1
                        due = started + sent[0] / rate if rate else 0.0
                    if rate and due > time.monotonic():
                        time.sleep(due - time.monotonic())
                    answer = client.post(url, content=content, headers=self.headers)
                    if answer.status_code != 200:
                        errors.append(f"{answer.status_code} {answer.text[:300]}")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(pushers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(errors[0])
        return time.monotonic() - started


def cpu(pids: list[int]) -> float:
    return float(pg.cpu_seconds(pids)) if pids else 0.0


def measure(
    desks_: list[Desk],
    token: str,
    devices: int,
    batches: int,
    pushers: int,
    db_pids: list[int],
    seed: int = 13,
) -> dict[str, Any]:
    """Warm the fleet's state, then time ``batches`` batches of random devices."""
    rng = random.Random(seed)
    names = device_names(devices)
    push = Push(desks_, token)
    warm = [body(names[i : i + BATCH], rng) for i in range(0, len(names), BATCH)]
    push.run(warm, pushers)
    bodies = [body(rng.sample(names, min(BATCH, devices)), rng) for _ in range(batches)]
    desk_pids = [d.pid for d in desks_]
    cpu0, db0 = cpu(desk_pids), cpu(db_pids)
    wall = push.run(bodies, pushers)
    desk_cpu, db_cpu = cpu(desk_pids) - cpu0, cpu(db_pids) - db0
    observations = sum(len(json.loads(b)) for b in bodies)
    return {
        "devices": devices,
        "desks": len(desks_),
        "batches": batches,
        "observations_per_s": round(observations / wall, 1),
        "desk_cpu_ms_per_batch": round(1000 * desk_cpu / batches, 1),
        "desk_cpu_ms_per_observation": round(1000 * desk_cpu / observations, 3),
        "db_cpu_ms_per_batch": round(1000 * db_cpu / batches, 1) if db_pids else None,
        "wall_ms_per_batch": round(1000 * wall / batches, 1),
    }


def alarm_to_ticket(
    desks_: list[Desk], token: str, devices: int, rate: float, probes: int, pushers: int
) -> dict[str, Any]:
    """While pushers keep ``rate`` observations/s going, open ``probes`` tickets one by one."""
    rng = random.Random(7)
    names = device_names(devices)
    push = Push(desks_, token)
    batches_per_s = rate / BATCH
    seconds = probes * 0.25 + 5
    bodies = [
        body(rng.sample(names, min(BATCH, devices)), rng)
        for _ in range(max(1, int(batches_per_s * seconds)))
    ]
    load = threading.Thread(target=push.run, args=(bodies, pushers, batches_per_s))
    load.start()
    latencies: list[float] = []
    missing = 0
    headers = push.headers
    with httpx.Client(timeout=60) as client:
        time.sleep(1.0)
        for n in range(probes):
            obs = {
                "id": uuid.uuid4().hex,
                "device": PROBE,
                "source": "trap",
                "time": datetime.now(UTC).isoformat(),
                "samples": [
                    {
                        "name": "trap_alarm",
                        "labels": {"alarm": f"bench-{n}", "object": "board 1", "severity": "major"},
                        "value": 1.0,
                    }
                ],
            }
            started = time.perf_counter()
            answer = client.post(
                desks_[0].url + "/api/v1/observations", content=json.dumps([obs]), headers=headers
            )
            elapsed = time.perf_counter() - started
            answer.raise_for_status()
            if answer.json()["tickets_opened"]:
                latencies.append(elapsed)
            else:
                missing += 1
            time.sleep(0.2)
    load.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None
    return {
        "devices": devices,
        "load_observations_per_s": round(rate, 1),
        "probes": probes,
        "tickets_missing": missing,
        "alarm_to_ticket_median_ms": round(1000 * statistics.median(latencies), 1)
        if latencies
        else None,
        "alarm_to_ticket_p99_ms": round(1000 * p99, 1) if p99 is not None else None,
    }


@contextmanager
def database(kind: str, workdir: Path, stack: ExitStack) -> Iterator[tuple[str, list[int]]]:
    """(URL, PIDs whose CPU is the database's) of a fresh database of ``kind``."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'desk.db'}", []
        return
    url, data = stack.enter_context(pg.cluster())
    name = f"ingest_{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "-c", _CREATE_DB, url, name], check=True, capture_output=True)
    yield url.rsplit("/", 1)[0] + f"/{name}", pg.server_pids(data)


_CREATE_DB = """
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1], isolation_level="AUTOCOMMIT")
with engine.connect() as c:
    c.execute(text(f"CREATE DATABASE {sys.argv[2]}"))
engine.dispose()
"""


def run(
    db: str = "sqlite",
    devices: tuple[int, ...] = (100, 1000, 20000, 50000),
    batches: int = 200,
    pushers: int = 4,
    two_desks: int | None = None,
    latency: int | None = None,
    probes: int = 100,
    rules: Path | None = None,
) -> dict[str, Any]:
    """Every figure for one kind of database (``sqlite`` or ``postgresql``)."""
    out: dict[str, Any] = {"db": db, "scale": [], "two_desks": None, "latency": None}
    sizes = sorted({*devices, *(x for x in (two_desks, latency) if x)})
    for size in sizes:
        with (
            ExitStack() as stack,
            tempfile.TemporaryDirectory(prefix="weibao-ingest-") as tmp,
            database(db, Path(tmp), stack) as (url, db_pids),
        ):
            workdir = Path(tmp)
            with desks(workdir, size, url, rules=rules) as one:
                token = agent_token(workdir, url)
                figures = measure(one, token, size, batches, pushers, pg_pids(db_pids))
                print(json.dumps(figures), file=sys.stderr, flush=True)
                if size in devices:
                    out["scale"].append(figures)
                if size == latency:
                    half = figures["observations_per_s"] / 2
                    out["latency"] = alarm_to_ticket(one, token, size, half, probes, pushers)
                    print(json.dumps(out["latency"]), file=sys.stderr, flush=True)
            if size == two_desks and db == "postgresql":
                with desks(workdir, size, url, count=2, rules=rules) as two:
                    token = agent_token(workdir, url)
                    both = measure(two, token, size, batches, pushers, pg_pids(db_pids), seed=14)
                alone = next(f for f in out["scale"] if f["devices"] == size) if size in devices \
                    else figures  # fmt: skip
                both["ratio_to_one_desk"] = round(
                    both["observations_per_s"] / alone["observations_per_s"], 2
                )
                out["two_desks"] = both
                print(json.dumps(both), file=sys.stderr, flush=True)
    return out


def pg_pids(first: list[int]) -> list[int]:
    """The cluster's processes now (backends come and go with the desks' pools)."""
    if not first:
        return []
    out = subprocess.run(["pgrep", "-P", str(first[0])], capture_output=True, text=True).stdout
    return [first[0], *(int(p) for p in out.split())]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--devices", default="100,1000,20000,50000")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--pushers", type=int, default=4)
    parser.add_argument("--two-desks", type=int, default=20000)
    parser.add_argument("--latency", type=int, default=20000)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--rules", type=Path, default=None, help="rule pack (default: ours)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    sizes = tuple(int(x) for x in args.devices.split(",") if x)
    results = [
        run(
            kind,
            sizes,
            args.batches,
            args.pushers,
            args.two_desks,
            args.latency,
            args.probes,
            args.rules,
        )
        for kind in kinds
    ]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
