"""Fixtures for the page tests: an inventory with what the pages show (engineers on
sites, pause reasons, a customer contact, serials and warranty), and a way to open
tickets at the frozen clock's time without going through the rules.

Import the fixtures into a test module::

    from .page_fixtures import Desk, desk_fixture, inventory_fixture  # noqa: F401
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from desk.model import EventKind
from desk.storage import Store, TicketRecord
from desk.storage.accounts import UserRecord
from desk.tickets import apply_alarms
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Sample

from ..asgi import AsgiClient
from .conftest import STAFFED_INVENTORY, login

PAGE_INVENTORY: dict[str, Any] = copy.deepcopy(STAFFED_INVENTORY)
_acme = PAGE_INVENTORY["customers"][0]["contracts"][0]
_acme["pause_reasons"] = ["customer access window", "vendor part"]
_acme["customer_contact"] = {"name": "Chen Jing", "phone": "13900000009"}
_acme["sites"][0]["address"] = "1 Bank Road, Shanghai"
_acme["sites"][0]["devices"][1].update(
    {
        "serial": "SN-ACME-DB-1",
        "warranty_end": "2027-06-30",
        "address": "10.0.0.5",
        "vendor": "Huawei",
        "model": "2288H V5",
    }
)


@pytest.fixture(name="inventory")
def inventory_fixture() -> Inventory:
    """Overrides the desk tests' inventory for the modules that import it."""
    return Inventory.model_validate(PAGE_INVENTORY)


def alarm(
    device: str,
    level: Level = Level.II,
    rule: str = "device_unreachable",
    at: datetime | None = None,
    labels: dict[str, str] | None = None,
    title: str | None = None,
) -> Alarm:
    assert at is not None
    return Alarm(
        fingerprint=f"{rule}:{device}",
        device=device,
        level=level,
        rule=rule,
        title=title or f"{device} is unreachable",
        description="Ping the device.\n\n处理建议 / What to check:\nCheck the uplink cable first.",
        labels=labels or {},
        evidence=[Sample(name="up", value=0)],
        observed_at=at,
    )


@dataclass
class Desk:
    store: Store
    inventory: Inventory
    clock: FrozenClock

    def open(
        self,
        device: str,
        level: Level = Level.II,
        rule: str = "device_unreachable",
        internal: bool = False,
        title: str | None = None,
    ) -> TicketRecord:
        """A ticket for ``device`` detected now (the frozen clock's time)."""
        labels = {"audience": "operations"} if internal else {}
        fired = alarm(device, level, rule, self.clock.now(), labels, title)
        with self.store.transaction() as tx:
            outcome = apply_alarms(tx, [fired], [], self.inventory.device_index(), self.clock.now())
        assert outcome.opened, "no ticket opened"
        return outcome.opened[0]

    def event(self, ticket: TicketRecord, kind: EventKind, actor: str, **data: Any) -> None:
        """An event written straight to the timeline (escalations, referrals ...). It does
        not refresh the ticket's stored clocks: take clock-moving steps (ack, pause, ...)
        through the Workflow, as the console does."""
        with self.store.transaction() as tx:
            tx.add_event(ticket.id, self.clock.now(), kind, actor, data)

    def escalate(self, ticket: TicketRecord, clock: str, step: str) -> None:
        with self.store.transaction() as tx:
            assert tx.claim_escalation(
                ticket.id, clock, step, ticket.due.response, self.clock.now()
            )
            tx.add_event(
                ticket.id,
                self.clock.now(),
                EventKind.escalated,
                "weibao",
                {"clock": clock, "step": step, "used": 0.85},
            )


@pytest.fixture(name="desk")
def desk_fixture(store: Store, inventory: Inventory, clock: FrozenClock) -> Desk:
    return Desk(store, inventory, clock)


def login_as(client: AsgiClient, user: UserRecord) -> None:
    """Log in as ``user``, whoever was logged in before (a fresh cookie jar)."""
    client._client.cookies.clear()
    answer = login(client, user)
    assert answer.status_code == 303, answer.text
