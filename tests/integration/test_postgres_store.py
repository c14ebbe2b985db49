"""The store on a real PostgreSQL: migrations, a ticket round trip, and the database's
own guard against a second active ticket per fault.

The fixture starts a throwaway cluster (initdb into a temporary directory, listening
only on 127.0.0.1 on a free port) and always stops it. Without PostgreSQL binaries the
tests skip, or fail under CI=true (see tests/peers.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError

import rules
from desk.ingest import Ingestor
from desk.model import TicketStatus
from desk.storage import Store, TicketQuery
from desk.storage.database import head_revision
from desk.storage.tables import Base
from tests.desk.conftest import IMMEDIATE_RULES, twin_of
from tests.peers import require_peer
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Observation, Sample

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INVENTORY = {
    "customers": [
        {
            "name": "Acme",
            "contracts": [
                {
                    "id": "ACME-2026",
                    "name": "Acme network",
                    "start": "2026-01-01",
                    "end": "2026-12-31",
                    "service_manager": {"name": "Wang Li"},
                    "sites": [
                        {
                            "name": "Acme HQ",
                            "hq": True,
                            "devices": [
                                {"name": "acme-core", "kind": "switch", "criticality": "critical"}
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    if os.geteuid() != 0:
        return argv
    runuser = require_peer("runuser", "needed to run PostgreSQL as the postgres user")
    return [runuser, "-u", "postgres", "--", *argv]


def _run(argv: list[str], timeout: float = 60) -> None:
    done = subprocess.run(
        _as_postgres(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL cluster for this module; its URL for the desk."""
    initdb = Path(
        require_peer(
            "/usr/lib/postgresql/*/bin/initdb",
            "PostgreSQL server binaries are needed (apt-get install postgresql)",
        )
    )
    pg_ctl = str(initdb.parent / "pg_ctl")
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="weibao-pg-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    started = False
    try:
        _run([str(initdb), "-D", str(data), "-U", "weibao", "-A", "trust", "-E", "UTF8",
              "--no-sync", "--no-instructions"])  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        _run([pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-o", options,
              "-w", "-t", "60", "start"], timeout=90)  # fmt: skip
        started = True
        yield f"postgresql+psycopg://weibao@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "60", "stop"], 90)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    store = Store(postgres_url)
    store.migrate()
    yield store
    store.close()


def down(at: datetime, obs_id: str) -> Observation:
    return Observation(
        id=obs_id,
        device="acme-core",
        source="agent",
        time=at,
        ok=False,
        error="no answer",
        samples=[Sample(name="up", value=0)],
    )


def test_migrations_build_the_orm_schema_and_run_again_harmlessly(postgres_url: str) -> None:
    for _ in range(2):
        store = Store(postgres_url)
        try:
            store.migrate()
            assert store.schema_revision() == head_revision()
        finally:
            store.close()
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_a_ticket_round_trip(store: Store) -> None:
    clock = FrozenClock(START + timedelta(minutes=1))
    inventory = Inventory.model_validate(INVENTORY)
    ingestor = Ingestor(store, rules.load_engine(IMMEDIATE_RULES), inventory, clock)
    first = ingestor.ingest([down(START, "pg-round-trip-1")])
    clock.advance(timedelta(minutes=1))
    again = ingestor.ingest([down(START + timedelta(minutes=1), "pg-round-trip-2")])
    replay = ingestor.ingest([down(START, "pg-round-trip-1")])
    assert (first.accepted, again.accepted, replay.duplicates) == (1, 1, 1)

    [number] = first.opened
    ticket = store.get_ticket(number)
    assert ticket is not None and ticket.number.startswith("WB-2026-")
    assert ticket.level is Level.I and ticket.status is TicketStatus.open
    assert ticket.detected_at == START and ticket.detected_at.utcoffset() == timedelta(0)
    assert ticket.due.onsite == START + timedelta(minutes=30)
    assert ticket.evidence_count == 2
    assert [e.kind for e in store.ticket_events(ticket.id)] == ["opened", "evidence"]
    listed = store.list_tickets(TicketQuery(customer="Acme", level=Level.I))
    assert ticket.id in [t.id for t in listed]
    assert store.engine_memory("acme-core") is not None


def test_postgres_refuses_a_second_active_ticket_for_a_fault(store: Store) -> None:
    clock = FrozenClock(START)
    inventory = Inventory.model_validate(INVENTORY)
    Ingestor(store, rules.load_engine(IMMEDIATE_RULES), inventory, clock).ingest(
        [down(START, "pg-unique-1")]
    )
    [ticket] = store.list_tickets(TicketQuery(device="acme-core", status=TicketStatus.open))
    with store.transaction() as tx:  # SELECT ... FOR UPDATE works on PostgreSQL
        assert tx.active_ticket(ticket.fingerprint) == ticket
    twin = twin_of(ticket, START)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.insert_ticket(twin, START)


def test_two_desks_escalate_and_notify_each_step_once(postgres_url: str) -> None:
    """Two desk processes (two stores, two housekeepers, two dispatchers) on one database,
    racing in threads: every escalation step is recorded once and every notice sent once."""
    import threading

    from desk.housekeeping import Housekeeper
    from desk.notices import TicketNotifier
    from desk.notify.dispatcher import Dispatcher
    from desk.notify.message import Notice
    from desk.outbox import DbOutbox

    data = {
        **INVENTORY,
        "notifications": {"channels": [{"name": "ops", "type": "webhook", "url": "env:UNUSED"}]},
    }
    inventory = Inventory.model_validate(data)
    clock = FrozenClock(START)
    engine = rules.load_engine(IMMEDIATE_RULES)
    stores = [Store(postgres_url), Store(postgres_url)]
    sent: list[str] = []
    lock = threading.Lock()

    class Recorder:
        def send(self, notice: Notice) -> None:
            with lock:
                sent.append(f"{notice.kind.value} {notice.facts.get('clock', '')}")

    try:
        for store in stores:
            store.migrate()
        notify = TicketNotifier(inventory)
        Ingestor(stores[0], engine, inventory, clock, notify=notify).ingest(
            [down(START, "pg-escalate-1")]
        )
        clock.set(START + timedelta(minutes=40))  # level I: response and on-site overdue
        keepers = [
            Housekeeper(s, inventory, clock, Ingestor(s, engine, inventory, clock), notify)
            for s in stores
        ]
        rounds = [threading.Thread(target=k.run_once) for k in keepers for _ in range(3)]
        for t in rounds:
            t.start()
        for t in rounds:
            t.join(30)
        [ticket] = stores[0].list_tickets(TicketQuery(device="acme-core", active=True))
        steps = [
            (e.data["clock"], e.data["step"])
            for e in stores[0].ticket_events(ticket.id)
            if e.kind == "escalated"
        ]
        assert sorted(steps) == [("onsite", "breached"), ("response", "breached")]

        dispatchers = [Dispatcher(DbOutbox(s), {"ops": Recorder()}, clock) for s in stores]
        threads = [threading.Thread(target=d.dispatch_once) for d in dispatchers for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        # The module's earlier tests may have opened this fault's ticket already.
        assert sorted(x for x in sent if x.startswith("ticket.escalated")) == [
            "ticket.escalated onsite",
            "ticket.escalated response",
        ]
        assert len(sent) == len(stores[0].outbox())  # each queued notice sent exactly once
        assert {o.status for o in stores[0].outbox()} == {"sent"}
    finally:
        for store in stores:
            store.close()
