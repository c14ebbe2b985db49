"""A contract with everything the workflow reads: engineers, pause reasons, auto-close,
travel time, a follow-up period and a notification channel; and a desk's parts wired
to a frozen clock, without HTTP."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from desk.housekeeping import Housekeeper
from desk.ingest import Ingestor
from desk.model import Role
from desk.notices import TicketNotifier
from desk.storage import Store, TicketRecord
from desk.tickets import apply_alarms
from desk.workflow import Actor, Workflow
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Sample

from .conftest import INVENTORY, START

ENGINEER = Actor("李强", Role.engineer)
MANAGER = Actor("王磊", Role.manager)
ACME = Actor("陈静", Role.customer, "Acme Bank")
BETA = Actor("Beta IT", Role.customer, "Beta Hospital")


def workflow_inventory() -> Inventory:
    data: dict[str, Any] = copy.deepcopy(INVENTORY)
    acme = data["customers"][0]["contracts"][0]
    acme["pause_reasons"] = ["customer access window", "vendor part"]
    acme["auto_close"] = {"levels": ["III", "IV"], "after": "1h"}
    acme["followup_after"] = "2d"
    acme["sites"][0]["engineers"] = [
        {"name": "李强", "phone": "13700000003", "wecom": "liqiang"},
        {"name": "赵敏", "phone": "13700000004"},
    ]
    acme["senior_engineers"] = [
        {"name": "陈工", "email": "chen@example.com"},
        {"name": "刘工", "email": "liu@example.com"},
    ]
    acme["sites"][0]["devices"][1]["inspect"] = {"agent": {"hostname": "acme-db"}}
    acme["sites"][1]["travel_time"] = "90m"
    acme["sites"][1]["engineers"] = [{"name": "王芳", "email": "wang.fang@example.com"}]
    data["notifications"] = {
        "channels": [{"name": "ops", "type": "webhook", "url": "env:WEIBAO_TEST_HOOK"}]
    }
    return Inventory.model_validate(data)


def alarm(
    device: str = "acme-db",
    level: Level = Level.II,
    at: datetime = START,
    rule: str = "device_unreachable",
    labels: dict[str, str] | None = None,
) -> Alarm:
    return Alarm(
        fingerprint=f"{rule}:{device}",
        device=device,
        level=level,
        rule=rule,
        title=f"{device} is unreachable",
        labels=labels or {},
        evidence=[Sample(name="up", value=0)],
        observed_at=at,
    )


@dataclass
class DeskParts:
    store: Store
    inventory: Inventory
    clock: FrozenClock
    workflow: Workflow
    housekeeper: Housekeeper
    notify: TicketNotifier

    def fire(self, *alarms: Alarm, cleared: tuple[Alarm, ...] = ()) -> list[TicketRecord]:
        """Apply alarms at the clock's time; the tickets they opened or reopened."""
        with self.store.transaction() as tx:
            outcome = apply_alarms(
                tx, alarms, cleared, self.inventory.device_index(), self.clock.now(), self.notify
            )
        return outcome.opened + outcome.reopened

    def at(self, offset: timedelta) -> None:
        self.clock.set(START + offset)


def desk_parts(store: Store, engine: Engine) -> DeskParts:
    inventory = workflow_inventory()
    clock = FrozenClock(START)
    notify = TicketNotifier(inventory)
    ingestor = Ingestor(store, engine, inventory, clock, notify=notify)
    return DeskParts(
        store,
        inventory,
        clock,
        Workflow(store, inventory, clock, notify),
        Housekeeper(store, inventory, clock, ingestor, notify),
        notify,
    )
