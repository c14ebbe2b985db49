"""Storms: a core switch and everything behind it down at once is one ticket, whatever
order and however many pushers the batches come in; a dependant's ticket opened before
its upstream was known down is folded into the upstream's; a dependant still down after
the upstream is back gets its own ticket again.

The default rule pack (``device_unreachable``, ``for: 2m``), rounds of observations a
minute apart, and the dependants' batches pushed before, around and after the core's.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import rules
from desk.ingest import Ingestor
from desk.model import EventKind, Role, TicketStatus
from desk.steps import Ack
from desk.storage import Store, TicketQuery, TicketRecord
from desk.workflow import Actor, Workflow
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation, Sample, Source

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)
CORE = "core-sw"
ROOT = f"device_unreachable:{CORE}"


def storm_inventory(dependants: int, redundant: bool = False) -> Inventory:
    """A core switch and ``dependants`` access switches behind it (and, with
    ``redundant``, a second pair of distribution switches both must lose)."""
    devices: list[dict[str, Any]] = [{"name": CORE, "kind": "switch", "role": "core"}]
    if redundant:
        devices += [
            {"name": "dist-a", "kind": "switch", "depends_on": CORE},
            {"name": "dist-b", "kind": "switch", "depends_on": CORE},
            {"name": "acc-ab", "kind": "switch", "depends_on": ["dist-a", "dist-b"]},
        ]
    devices += [
        {"name": dependant(i), "kind": "switch", "depends_on": CORE} for i in range(dependants)
    ]
    contract = {
        "id": "STORM-2026",
        "name": "storm",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "service_manager": {"name": "Wang Li"},
        "sites": [
            {"name": "DC", "hq": True, "engineers": [{"name": "Li Qiang"}], "devices": devices}
        ],
    }
    return Inventory.model_validate({"customers": [{"name": "Acme", "contracts": [contract]}]})


def dependant(i: int) -> str:
    return f"acc-{i:05d}"


def up(device: str, value: float, at: datetime) -> Observation:
    return Observation(
        device=device,
        source=Source.snmp,
        time=at,
        ok=bool(value),
        samples=[Sample(name="up", value=value)],
    )


def batches(
    devices: Sequence[str], value: float, at: datetime, size: int
) -> list[list[Observation]]:
    obs = [up(d, value, at) for d in devices]
    return [obs[i : i + size] for i in range(0, len(obs), size)]


def push(ingestor: Ingestor, work: Sequence[list[Observation]], threads: int) -> None:
    """Push the batches with ``threads`` pushers taking the next batch in turn."""
    if threads == 1:
        for batch in work:
            ingestor.ingest(batch)
        return
    queue = list(reversed(work))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def pusher() -> None:
        while True:
            with lock:
                if not queue:
                    return
                batch = queue.pop()
            try:
                ingestor.ingest(batch)
            except BaseException as exc:
                failures.append(exc)
                return

    workers = [threading.Thread(target=pusher) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not failures, failures


def ordered(devices: list[str], where: str, rng: random.Random) -> list[str]:
    """The round's devices with the core switch first, last, in the middle or anywhere."""
    others = [d for d in devices if d != CORE]
    rng.shuffle(others)
    at = {"first": 0, "last": len(others), "middle": len(others) // 2}.get(
        where, rng.randrange(len(others) + 1)
    )
    return [*others[:at], CORE, *others[at:]]


def active(store: Store) -> list[TicketRecord]:
    return store.list_tickets(TicketQuery(active=True, limit=1000))


def every(store: Store) -> list[TicketRecord]:
    return store.list_tickets(TicketQuery(limit=1000))


def evidence_devices(store: Store, ticket: TicketRecord) -> set[str]:
    """The devices the ticket's evidence shows down (``up{device=...} 0``)."""
    found = set()
    for event in store.ticket_events(ticket.id):
        for sample in event.data.get("samples", ()):
            if sample.get("name") == "up" and "device" in sample.get("labels", {}):
                found.add(sample["labels"]["device"])
    return found


@pytest.fixture(scope="module")
def pack() -> Engine:
    return rules.load_engine()


def run_rounds(
    ingestor: Ingestor,
    clock: FrozenClock,
    rounds: Iterable[tuple[list[str], float]],
    where: str,
    threads: int,
    rng: random.Random,
    size: int = 10,
) -> None:
    for n, (devices, value) in enumerate(rounds):
        at = START + n * M
        clock.set(at + timedelta(seconds=2))
        order = ordered(devices, where, rng) if CORE in devices else devices
        push(ingestor, batches(order, value, at, size), threads)


@pytest.mark.parametrize(
    ("where", "threads"),
    [("first", 1), ("last", 1), ("middle", 1), ("anywhere", 1), ("last", 4), ("anywhere", 4)],
)
def test_a_storm_is_one_ticket_whatever_the_order(
    tmp_path: Any, pack: Engine, where: str, threads: int
) -> None:
    inventory = storm_inventory(60)
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    ingestor = Ingestor(store, pack, inventory, clock)
    everyone = [CORE, *(dependant(i) for i in range(60))]
    rng = random.Random(f"{where}-{threads}")
    run_rounds(ingestor, clock, [(everyone, 1.0)] + [(everyone, 0.0)] * 4, where, threads, rng)
    [ticket] = every(store)
    assert ticket.fingerprint == ROOT and ticket.status is TicketStatus.open
    assert evidence_devices(store, ticket) == set(everyone) - {CORE}
    store.close()


@pytest.mark.parametrize("threads", [1, 4])
def test_tickets_opened_before_the_upstream_was_known_down_are_folded_into_its_ticket(
    tmp_path: Any, pack: Engine, threads: int
) -> None:
    inventory = storm_inventory(40)
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    ingestor = Ingestor(store, pack, inventory, clock)
    behind = [dependant(i) for i in range(40)]
    rng = random.Random(threads)
    # The core's collector is late: the dependants fire (at 3m) before the core is seen down.
    rounds = [([CORE, *behind], 1.0), (behind, 0.0), (behind, 0.0), (behind, 0.0)]
    run_rounds(ingestor, clock, rounds, "anywhere", threads, rng)
    early = active(store)
    assert {t.device for t in early} == set(behind)
    rounds += [([CORE, *behind], 0.0)] * 3
    run_rounds(ingestor, clock, rounds[4:], "anywhere", threads, rng)

    [root] = active(store)
    assert root.fingerprint == ROOT
    assert evidence_devices(store, root) == set(behind)
    merged = [e for e in store.ticket_events(root.id) if e.kind == EventKind.merged]
    listed = [entry["number"] for e in merged for entry in e.data["folded"]]
    assert sorted(listed) == sorted(t.number for t in early)  # each folded exactly once
    for old in early:
        folded = store.get_ticket(old.id)
        assert folded is not None and folded.status is TicketStatus.closed
        assert root.number in folded.related
        [event] = [e for e in store.ticket_events(old.id) if e.kind == EventKind.merged]
        assert event.data["into"] == root.number and event.data["how"] == "folded"
    store.close()


def test_a_ticket_an_engineer_took_up_is_linked_not_closed(tmp_path: Any, pack: Engine) -> None:
    inventory = storm_inventory(5)
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    ingestor = Ingestor(store, pack, inventory, clock)
    behind = [dependant(i) for i in range(5)]
    rng = random.Random(0)
    run_rounds(ingestor, clock, [([CORE, *behind], 1.0)] + [(behind, 0.0)] * 3, "first", 1, rng)
    taken = next(t for t in active(store) if t.device == behind[0])
    Workflow(store, inventory, clock).step(taken.id, "ack", Ack(), Actor("Li Qiang", Role.engineer))
    later = [([CORE, *behind], 0.0)] * 3
    for n, (devices, value) in enumerate(later, start=4):
        at = START + n * M
        clock.set(at + timedelta(seconds=2))
        push(ingestor, batches(devices, value, at, 10), 1)
    open_now = {t.fingerprint: t for t in active(store)}
    assert set(open_now) == {ROOT, taken.fingerprint}
    root = open_now[ROOT]
    assert root.number in open_now[taken.fingerprint].related
    assert open_now[taken.fingerprint].status is TicketStatus.acknowledged
    merged = [e for e in store.ticket_events(root.id) if e.kind == EventKind.merged]
    assert [x["number"] for e in merged for x in e.data["linked"]] == [taken.number]
    # The next reports of the core link nothing again.
    clock.set(START + 7 * M + timedelta(seconds=2))
    push(ingestor, batches([CORE, *behind], 0.0, START + 7 * M, 10), 1)
    again = [e for e in store.ticket_events(root.id) if e.kind == EventKind.merged]
    assert len(again) == len(merged)
    store.close()


def test_a_dependant_still_down_after_the_upstream_is_back_gets_its_own_ticket(
    tmp_path: Any, pack: Engine
) -> None:
    inventory = storm_inventory(10)
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    ingestor = Ingestor(store, pack, inventory, clock)
    behind = [dependant(i) for i in range(10)]
    rng = random.Random(1)
    # Late core again, so one dependant ticket was folded and must not be reopened.
    rounds: list[tuple[list[str], float]] = [([CORE, *behind], 1.0)]
    rounds += [(behind, 0.0)] * 3 + [([CORE, *behind], 0.0)] * 3
    run_rounds(ingestor, clock, rounds, "anywhere", 1, rng)
    [root] = active(store)
    folded = {t.device: t for t in every(store) if t.status is TicketStatus.closed}
    assert set(folded) == set(behind)
    # The core comes back; every dependant but one answers again in the same round, the
    # core's batch last: the sweeps in between open nothing for those about to answer.
    stuck = behind[3]
    for n in range(7, 10):
        at = START + n * M
        for seconds in (2, 20, 40):  # housekeeping rounds while the batches come in
            clock.set(at + timedelta(seconds=seconds))
            ingestor.tick()
        clock.set(at + timedelta(seconds=2))
        answered = [d for d in behind if d != stuck]
        push(ingestor, [[up(d, 1.0, at) for d in answered]], 1)
        if n == 7:
            ingestor.tick()
        push(ingestor, [[up(stuck, 0.0, at)], [up(CORE, 1.0, at)]], 1)
    fresh = [t for t in active(store) if t.id != root.id]
    assert [t.device for t in fresh] == [stuck]
    assert folded[stuck].number in fresh[0].related and root.number in fresh[0].related
    assert store.get_ticket(folded[stuck].id).status is TicketStatus.closed  # type: ignore[union-attr]
    assert store.get_ticket(root.id).recovered_at is not None  # type: ignore[union-attr]
    store.close()


def test_a_device_behind_a_redundant_pair_is_its_own_fault_until_both_are_down(
    tmp_path: Any, pack: Engine
) -> None:
    inventory = storm_inventory(0, redundant=True)
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    ingestor = Ingestor(store, pack, inventory, clock)
    for n in range(8):
        at = START + n * M
        clock.set(at + timedelta(seconds=2))
        b_down = n >= 4
        push(ingestor, [[up(CORE, 1.0, at), up("dist-a", 0.0 if n else 1.0, at)],
                        [up("acc-ab", 0.0 if n else 1.0, at)],
                        [up("dist-b", 0.0 if b_down else 1.0, at)]], 1)  # fmt: skip
        if n == 3:
            # Only one of the pair is down: the device's own fault, its own ticket.
            assert {t.device for t in active(store)} == {"dist-a", "acc-ab"}
    tickets = {t.device: t for t in active(store)}
    assert set(tickets) == {"dist-a", "dist-b"}
    acc = next(t for t in every(store) if t.device == "acc-ab")
    assert acc.status is TicketStatus.closed and tickets["dist-a"].number in acc.related
    store.close()


def test_folded_tickets_count_no_sla_miss_in_the_statistics(tmp_path: Any, pack: Engine) -> None:
    """A dependant's ticket folded into the outage before anyone acknowledged it has no
    response of its own: its unmet clocks run on the upstream's ticket, so the quarterly
    statistics count the outage once and no miss nobody could have avoided."""
    from desk.reports.quarterly import build_quarterly

    inventory = storm_inventory(5)
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    ingestor = Ingestor(store, pack, inventory, clock)
    behind = [dependant(i) for i in range(5)]
    rounds = [([CORE, *behind], 1.0), (behind, 0.0), (behind, 0.0), (behind, 0.0)]
    rounds += [([CORE, *behind], 0.0)] * 3
    run_rounds(ingestor, clock, rounds, "anywhere", 1, random.Random(1))
    [root] = active(store)
    folded = store.list_tickets(TicketQuery(status=TicketStatus.closed))
    assert len(folded) == 5
    later = START + timedelta(days=40)  # every clock of every ticket is long past due
    report = build_quarterly(
        store, inventory, START.date(), START.date() + timedelta(days=30), later
    )
    missed = {m.ticket for m in report.misses}
    assert missed == {root.number}  # the outage's own clocks ran out; nobody acknowledged
    assert report.totals.compliance["response"].measured == 1
    store.close()
