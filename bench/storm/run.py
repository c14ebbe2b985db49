"""The storm of issue #13 item 1, measured from outside: a real desk process on
127.0.0.1, one core switch and N devices behind it all down at once, pushed by several
concurrent pushers in batches, rounds of observations a minute apart (stamped in the
recent past, so the rule's ``for: 2m`` passes without waiting).

Prints the tickets opened, the tickets open at the end, and the time from the parent's
rule firing (the request whose answer carries the core's ticket) to the moment the desk
shows exactly one open ticket, the core's, with every dependant as evidence.

    .venv/bin/python bench/storm/run.py [--devices 5000] [--pushers 4] [--batch 100]
                                        [--late-parent] [--db URL]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
CORE = "core-sw"
RETRIES = 10


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


desks_module = _load("bench_desks", HERE.parent / "desks.py")


def inventory(devices: int) -> dict[str, Any]:
    listed: list[dict[str, Any]] = [{"name": CORE, "kind": "switch", "role": "core"}]
    listed += [
        {"name": f"acc-{i:05d}", "kind": "switch", "depends_on": CORE} for i in range(devices)
    ]
    return desks_module.one_site_inventory(listed, "STORM-2026")


@contextmanager
def desk(workdir: Path, devices: int, db: str | None) -> Iterator[tuple[str, str]]:
    """A real ``weibao serve`` on a free loopback port; yields its URL and a manager's token
    (the watcher reads tickets with it)."""
    db = db or f"sqlite:///{workdir / 'desk.db'}"
    with desks_module.running_desks(workdir, inventory(devices), db, timeout=60) as [one]:
        yield one.url, desks_module.make_token(workdir, db, "--role", "manager")


def observation(device: str, value: float, at: datetime) -> dict[str, Any]:
    return {
        "device": device,
        "source": "snmp",
        "time": at.isoformat(),
        "ok": bool(value),
        "samples": [{"name": "up", "value": value}],
    }


class Pushers:
    """``count`` concurrent pushers taking the next batch of a round in turn."""

    def __init__(self, url: str, token: str, count: int) -> None:
        self.url, self.count = url, count
        self.headers = {"Authorization": f"Bearer {token}"}
        self.opened: list[tuple[str, float]] = []  # (ticket number, request start)
        self._lock = threading.Lock()

    def round(self, batches: list[list[dict[str, Any]]]) -> None:
        queue = list(reversed(batches))
        errors: list[str] = []

        def work() -> None:
            with httpx.Client(timeout=120) as client:
                while True:
                    with self._lock:
                        if not queue:
                            return
                        batch = queue.pop()
                    started = time.monotonic()
                    for attempt in range(RETRIES):
                        # A 503 (the database busy) is retried, as a collector's spool does.
                        answer = client.post(
                            f"{self.url}/api/v1/observations", json=batch, headers=self.headers
                        )
                        if answer.status_code != 503:
                            break
                        time.sleep(0.5 * (attempt + 1))
                    if answer.status_code != 200:
                        errors.append(f"{answer.status_code} {answer.text[:200]}")
                        return
                    with self._lock:
                        self.opened += [(n, started) for n in answer.json()["tickets_opened"]]

        threads = [threading.Thread(target=work) for _ in range(self.count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError(errors[0])


class Watcher:
    """Polls the open tickets while the rounds go on: when is the core's the only one?

    The time is taken from the start of the request whose answer opened the core's
    ticket (its rule fired inside it) to the first poll that saw one open ticket, the
    core's, after that: an upper bound, to within the poll interval."""

    def __init__(self, url: str, token: str, push: Pushers, every: float = 0.2) -> None:
        self.url, self.token, self.push, self.every = url, token, push, every
        self.single_at: float | None = None
        self._began = time.monotonic()
        self.elapsed = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.elapsed = time.monotonic() - self._began

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            fired = [n for n, _ in self.push.opened]
            if not fired:
                continue
            seen = time.monotonic()
            try:
                tickets = active(self.url, self.token)
            except httpx.HTTPError:
                continue  # busy or stopping: the next poll tells
            if len(tickets) == 1 and tickets[0]["device"] == CORE:
                if self.single_at is None:
                    self.single_at = seen
            else:
                self.single_at = None


def active(url: str, token: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{url}/api/v1/tickets",
        params={"active": "true", "limit": 1000},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    answer.raise_for_status()
    return list(answer.json()["items"])


def evidence_devices(url: str, token: str, number: str) -> set[str]:
    answer = httpx.get(
        f"{url}/api/v1/tickets/{number}", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )
    answer.raise_for_status()
    found: set[str] = set()
    for event in answer.json()["events"]:
        for sample in (event.get("data") or {}).get("samples", ()):
            if sample.get("name") == "up" and "device" in sample.get("labels", {}):
                found.add(sample["labels"]["device"])
    return found


def run(
    devices: int = 5000,
    pushers: int = 4,
    batch: int = 100,
    late_parent: bool = False,
    db: str | None = None,
    seed: int = 13,
) -> dict[str, Any]:
    rng = random.Random(seed)
    behind = [f"acc-{i:05d}" for i in range(devices)]
    with (
        tempfile.TemporaryDirectory(prefix="weibao-storm-") as tmp,
        desk(Path(tmp), devices, db) as (url, token),
    ):
        push = Pushers(url, token, pushers)
        watch = Watcher(url, token, push)
        watch.start()
        # Rounds a minute apart, the last stamped about now: up, then down (the core's
        # first down answer two rounds late with --late-parent).
        rounds = 7 if late_parent else 5
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=rounds - 1)
        for n in range(rounds):
            at = start + timedelta(minutes=n)
            core_down = n >= (3 if late_parent else 1)
            obs = [observation(d, 0.0 if n else 1.0, at) for d in behind]
            if n == 0 or core_down or not late_parent:
                obs.append(observation(CORE, 0.0 if core_down else 1.0, at))
            rng.shuffle(obs)
            push.round([obs[i : i + batch] for i in range(0, len(obs), batch)])
        watch.stop()
        fired = [number for number, _ in push.opened]
        open_now = active(url, token)
        core_ticket = [t for t in open_now if t["device"] == CORE]
        complete = bool(core_ticket) and evidence_devices(
            url, token, core_ticket[0]["number"]
        ) >= set(behind)
        root_started = next(
            (s for n, s in push.opened if core_ticket and n == core_ticket[0]["number"]), None
        )
        single = watch.single_at
        return {
            "devices": devices,
            "pushers": pushers,
            "batch": batch,
            "late_parent": late_parent,
            "tickets_opened": len(fired),
            "rounds_s": round(watch.elapsed, 1),
            "tickets_open_at_end": len(open_now),
            "every_dependant_as_evidence": complete,
            "parent_fired_to_single_ticket_s": (
                None
                if root_started is None or single is None or len(open_now) != 1
                else round(max(0.0, single - root_started), 2)
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--pushers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--late-parent", action="store_true")
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    figures = run(args.devices, args.pushers, args.batch, args.late_parent, args.db)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
