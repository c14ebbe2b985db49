"""A port polled down and trapped down is one fault: one ticket, whichever source saw it
first, the other's alarms as its evidence, recovered only when neither says down (issue
14, item 19; the rules' ``fault:``). With the default rule pack, through the ingest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import rules
from desk.ingest import Ingestor
from desk.notices import TicketNotifier
from desk.storage import Store, TicketQuery, TicketRecord
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation

from .conftest import INVENTORY, START

M = timedelta(minutes=1)
PORT = "Gi0/9"


def poll(up: int, at: datetime) -> Observation:
    return Observation.model_validate(
        {
            "device": "acme-core",
            "source": "snmp",
            "time": at,
            "samples": [
                {"name": "up", "value": 1},
                {
                    "name": "interface_up",
                    "labels": {"interface": PORT, "role": "uplink"},
                    "value": up,
                },
                {"name": "interface_admin_up", "labels": {"interface": PORT}, "value": 1},
            ],
        }
    )


def trap(up: int, at: datetime) -> Observation:
    return Observation.model_validate(
        {
            "device": "acme-core",
            "source": "trap",
            "time": at,
            "samples": [
                {"name": "trap_link_up", "labels": {"interface": PORT, "admin": "up"}, "value": up}
            ],
        }
    )


def run(store: Store, steps: list[tuple[int, list[Any]]]) -> list[TicketRecord]:
    inventory = Inventory.model_validate(INVENTORY)
    clock = FrozenClock(START)
    ingestor = Ingestor(
        store, rules.load_engine(), inventory, clock, notify=TicketNotifier(inventory)
    )
    for minute, makers in steps:
        clock.set(START + minute * M)
        ingestor.ingest([make(START + minute * M) for make in makers])
    return [t for t in store.list_tickets(TicketQuery(limit=100)) if t.device == "acme-core"]


def down_poll(at: datetime) -> Observation:
    return poll(0, at)


def up_poll(at: datetime) -> Observation:
    return poll(1, at)


def down_trap(at: datetime) -> Observation:
    return trap(0, at)


def up_trap(at: datetime) -> Observation:
    return trap(1, at)


def test_poll_first_then_trap_is_one_ticket_that_recovers_when_both_say_up(
    store: Store,
) -> None:
    steps = [(0, [up_poll]), *((m, [down_poll, down_trap]) for m in range(1, 5))]
    steps += [(m, [down_poll, up_trap]) for m in range(5, 8)]
    [ticket] = run(store, steps)
    assert ticket.fingerprint == f"interface_down:acme-core{{interface={PORT}}}"
    assert ticket.level.value == "II"  # the polled uplink's level, the worse of the two
    assert ticket.recovered_at is None  # the trap says up, the poll still says down
    assert ticket.evidence_count >= 2

    [ticket] = run(store, [(m, [up_poll, up_trap]) for m in range(8, 10)])
    assert ticket.recovered_at is not None


def test_trap_first_then_poll_is_the_same_one_ticket(store: Store) -> None:
    steps = [(m, [down_trap]) for m in range(0, 3)]
    steps += [(m, [down_poll, down_trap]) for m in range(3, 6)]
    [ticket] = run(store, steps)
    assert ticket.rule == "trap_link_down"  # the trap saw it first and opened it
    assert ticket.level.value == "II"  # raised when the poll confirmed an uplink down
    assert ticket.fingerprint == f"interface_down:acme-core{{interface={PORT}}}"
