"""Reads do not queue behind writes: on SQLite (WAL) a read session begins DEFERRED and
reads a snapshot while an ingest holds the write lock, so ``/healthz`` and the ticket
list answer at once under load (issue #13, item 4)."""

from __future__ import annotations

import time

from desk.model import Role
from desk.storage import Store
from desk.storage.records import TicketQuery

from .conftest import START


def test_a_read_does_not_wait_for_a_writer_holding_the_lock(store: Store) -> None:
    store.add_token("1" * 64, Role.engineer, None, "x", START)
    with store.transaction() as tx:
        tx.lock_devices(["acme-db"], START)  # this transaction now holds the write lock
        started = time.monotonic()
        store.ping()
        tickets = store.list_tickets(TicketQuery())
        tokens = store.list_tokens()
        waited = time.monotonic() - started
    assert tickets == []
    assert [t.note for t in tokens] == ["x"]
    # A read that waited for the lock would have waited for the writer's whole
    # transaction (here: forever, then "database is locked" after 30 s).
    assert waited < 5
