"""The storm on a real PostgreSQL, with two desks and concurrent pushers: one ticket for
the outage, and every dependant ticket opened before the core was known down folded into
it exactly once, whichever desk folds it."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

import rules
from desk.ingest import Ingestor
from desk.model import EventKind, TicketStatus
from desk.storage import Store
from tests.desk.test_storm import (
    CORE,
    ROOT,
    START,
    M,
    active,
    dependant,
    every,
    evidence_devices,
    storm_inventory,
    up,
)
from tests.integration.test_postgres_store import postgres_url  # noqa: F401 - fixture
from weibao.clock import FrozenClock
from weibao.observation import Observation

pytestmark = pytest.mark.integration

DEVICES = 60


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[Store, Store]]:  # noqa: F811
    """Two desks' stores on a database of this test's own (the cluster is the module's)."""
    name = f"storm_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    first, second = Store(url), Store(url)
    first.migrate()
    yield first, second
    first.close()
    second.close()
    admin.dispose()


def push_round(desks: list[Ingestor], work: list[list[Observation]], pushers: int) -> None:
    """``pushers`` threads take the next batch in turn, alternating between the desks."""
    failures: list[BaseException] = []
    lock = threading.Lock()

    def pusher(index: int) -> None:
        while True:
            with lock:
                if not work:
                    return
                batch = work.pop()
            try:
                desks[index % len(desks)].ingest(batch)
            except BaseException as exc:
                failures.append(exc)
                return

    threads = [threading.Thread(target=pusher, args=(i,)) for i in range(pushers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures


@pytest.mark.parametrize("late_parent", [False, True])
def test_two_desks_and_four_pushers_make_one_ticket(
    stores: tuple[Store, Store], late_parent: bool
) -> None:
    inventory = storm_inventory(DEVICES)
    engine = rules.load_engine()
    clock = FrozenClock(START)
    desks = [Ingestor(store, engine, inventory, clock) for store in stores]
    behind = [dependant(i) for i in range(DEVICES)]
    rng = random.Random(late_parent)
    for n in range(7):
        at = START + n * M
        clock.set(at + timedelta(seconds=2))
        devices = list(behind)
        if n == 0 or not late_parent or n >= 4:
            devices.append(CORE)
        rng.shuffle(devices)
        work = [[up(d, 0.0 if n else 1.0, at) for d in devices[i : i + 10]]
                for i in range(0, len(devices), 10)]  # fmt: skip
        push_round(desks, work, 4)

    store = stores[0]
    [root] = active(store)
    assert root.fingerprint == ROOT
    assert evidence_devices(store, root) == set(behind)
    folded = [t for t in every(store) if t.id != root.id]
    assert all(t.status is TicketStatus.closed for t in folded)
    assert bool(folded) is late_parent
    listed = [
        entry["number"]
        for event in store.ticket_events(root.id)
        if event.kind == EventKind.merged
        for entry in event.data["folded"]
    ]
    assert sorted(listed) == sorted(t.number for t in folded)
