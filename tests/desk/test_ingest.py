"""Ingest: each observation stored once by id, rules run on new ones only, engine state
kept across desks, and a failing rule leaves nothing half-done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from desk.ingest import Ingestor
from desk.storage import Store, TicketQuery
from rules.api import Engine, EngineState, Evaluation
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Observation

from .conftest import START, observation

M = timedelta(minutes=1)


def tickets(store: Store) -> list:  # type: ignore[type-arg]
    return store.list_tickets(TicketQuery())


def test_many_down_samples_make_one_ticket(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    ingestor = Ingestor(store, engine, inventory, clock)
    for i in range(10):
        clock.advance(M)
        result = ingestor.ingest([observation("acme-core", 0, clock.now())])
        assert (result.accepted, result.duplicates) == (1, 0)
        assert len(result.opened) == (1 if i == 0 else 0)
    [ticket] = tickets(store)
    assert ticket.level is Level.I  # criticality high
    assert ticket.detected_at == START + M
    assert ticket.evidence_count == 10  # the opening alarm and nine reports


def test_a_replayed_observation_is_a_duplicate_and_adds_no_evidence(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    ingestor = Ingestor(store, engine, inventory, clock)
    down = observation("acme-db", 0, START, obs_id="agent-1-000001")
    first = ingestor.ingest([down])
    replay = ingestor.ingest([down, down])
    assert (first.accepted, first.duplicates) == (1, 0)
    assert (replay.accepted, replay.duplicates) == (0, 2)
    assert store.observation_count() == 1
    [ticket] = tickets(store)
    assert [e.kind for e in store.ticket_events(ticket.id)] == ["opened"]


def test_the_same_id_twice_in_one_batch_is_stored_once(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    down = observation("acme-db", 0, START, obs_id="agent-1-000002")
    result = Ingestor(store, engine, inventory, clock).ingest([down, down])
    assert (result.accepted, result.duplicates) == (1, 1)


def test_unknown_devices_are_stored_and_reported_not_dropped(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    result = Ingestor(store, engine, inventory, clock).ingest(
        [observation("not-in-inventory", 0, START), observation("acme-db", 1, START)]
    )
    assert result.accepted == 2 and result.unknown_devices == ["not-in-inventory"]
    assert store.observation_count() == 2
    assert tickets(store) == []


def test_engine_state_survives_a_restart_so_recovery_is_seen(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    Ingestor(store, engine, inventory, clock).ingest([observation("acme-db", 0, START)])
    assert store.engine_memory("acme-db") is not None
    clock.advance(5 * M)
    # A new Ingestor stands for a restarted desk: it knows only what the store kept.
    Ingestor(store, engine, inventory, clock).ingest([observation("acme-db", 1, clock.now())])
    [ticket] = tickets(store)
    assert ticket.recovered_at == START + 5 * M


class BrokenEngine:
    def evaluate(
        self,
        state: EngineState,
        observations: Sequence[Observation],
        now: datetime,
        inventory: Inventory,
    ) -> Evaluation:
        raise RuntimeError("rule bug")


def test_a_failing_rule_stores_nothing_so_the_retry_is_evaluated(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    down = observation("acme-db", 0, START, obs_id="agent-1-000003")
    with pytest.raises(RuntimeError, match="rule bug"):
        Ingestor(store, BrokenEngine(), inventory, clock).ingest([down])
    assert store.observation_count() == 0
    retry = Ingestor(store, engine, inventory, clock).ingest([down])
    assert retry.accepted == 1 and len(retry.opened) == 1


def test_what_the_device_said_is_in_the_snapshot_of_the_ticket_it_opens(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    ingestor = Ingestor(store, engine, inventory, clock)
    said = {
        "df": "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 99 1 99% /"
    }
    ingestor.ingest([observation("acme-core", 1, START, source="ssh", raw=said)])
    clock.advance(M)
    newer = {"df": "/dev/sda1 100 100 0 100% /"}
    ingestor.ingest([observation("acme-core", 0, clock.now(), source="ssh", raw=newer)])
    # A spool replaying an older observation does not replace what the device says now.
    old = observation("acme-core", 1, START - M, source="ssh", raw={"df": "stale"})
    ingestor.ingest([old])
    [ticket] = tickets(store)
    raw = ticket.snapshot["raw"]
    assert raw["source"] == "ssh" and raw["outputs"] == newer
    assert raw["observation_id"] == ticket.snapshot["observation"]["id"]
    clock.advance(M)
    ingestor.ingest([observation("acme-core", 0, clock.now(), source="ssh", raw={"df": "x"})])
    assert tickets(store)[0].snapshot["raw"]["outputs"] == newer  # the ticket keeps its own


def test_a_snapshots_history_is_bounded_and_leads_with_the_alarms_samples(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    """Five earlier inspections of a device of many ports are not copied whole into the
    ticket: each keeps at most as many samples as the firing observation, those of the
    fault first (issue 15, item 21)."""
    from desk.storage.transaction import SNAPSHOT_SAMPLES

    ports = [
        {"name": "interface_up", "labels": {"interface": f"p{n}"}, "value": 1}
        for n in range(SNAPSHOT_SAMPLES + 200)
    ]
    ingestor = Ingestor(store, engine, inventory, clock)

    def inspected(up: int, at: datetime) -> Observation:  # the ports first, "up" last
        samples = [*ports, {"name": "up", "value": up}]
        return observation("acme-db", up, at, samples=samples)

    for minute in range(3):
        ingestor.ingest([inspected(1, START + minute * M)])
    clock.advance(3 * M)
    ingestor.ingest([inspected(0, clock.now())])
    [ticket] = tickets(store)
    history = ticket.snapshot["history"]
    assert history and all(len(h["samples"]) == SNAPSHOT_SAMPLES for h in history)
    assert all(h["samples_total"] == len(ports) + 1 for h in history)
    assert all(h["samples"][0]["name"] == "up" for h in history)  # the fault's sample first


def test_an_agent_observation_keeps_no_raw_output(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    Ingestor(store, engine, inventory, clock).ingest([observation("acme-db", 0, START)])
    [ticket] = tickets(store)
    assert "raw" not in ticket.snapshot and ticket.snapshot["observation"]["source"] == "agent"


def test_a_batch_keeps_the_memory_of_its_own_devices_only(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    """The engine's memory is a row per device: a batch writes its devices' rows, not the
    fleet's (issue #13 item 2)."""
    ingestor = Ingestor(store, engine, inventory, clock)
    ingestor.ingest([observation("acme-db", 1, START)])
    assert set(store.sweep_marks()) == {"acme-db"}
    before = store.engine_memory("acme-db")
    clock.advance(M)
    ingestor.ingest([observation("acme-core", 0, clock.now())])
    assert set(store.sweep_marks()) == {"acme-db", "acme-core"}
    assert store.engine_memory("acme-db") == before


def test_a_device_not_in_the_inventory_leaves_no_memory_behind(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    from tests.desk.test_tickets import alarm

    ingestor = Ingestor(store, engine, inventory, clock)
    ingestor.apply_external([alarm(device="ghost")], [])  # locks the device's row
    assert "ghost" in store.sweep_marks()
    ingestor.tick()
    assert "ghost" not in store.sweep_marks()


def test_prepare_builds_the_engines_view_before_the_first_batch(
    store: Store, engine: Engine, inventory: Inventory, clock: FrozenClock
) -> None:
    ingestor = Ingestor(store, engine, inventory, clock)
    ingestor.prepare()  # what `weibao serve` does before gc.freeze()
    assert ingestor.ingest([observation("acme-db", 1, START)]).accepted == 1
