"""A desk for the report builders' tests: an inventory with a customer whose code names
its reports, a second customer under a business-hours calendar, and the desk's real
parts (ingest with the immediate rule pack, the workflow) on a frozen clock, so every
number a test expects comes from observations and steps the test itself made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from desk.ingest import Ingestor, IngestResult
from desk.model import Role
from desk.rollups import Rollups
from desk.storage import Store, TicketRecord
from desk.tickets import apply_alarms
from desk.workflow import Actor, Workflow
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Observation, Sample, Source

ENGINEER = Actor("李强", Role.engineer)
CUSTOMER = Actor("张伟", Role.customer, "恒通物流")

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


INVENTORY: dict[str, Any] = {
    "customers": [
        {
            "name": "恒通物流",
            "code": "HTWL",
            "contracts": [
                {
                    "id": "HT-2026-001",
                    "name": "恒通物流 2026 年度维保",
                    "start": "2026-01-01",
                    "end": "2027-01-31",
                    "service_manager": {"name": "王磊"},
                    "customer_contact": {"name": "张伟"},
                    "sites": [
                        {
                            "name": "上海总部",
                            "hq": True,
                            "engineers": [{"name": "李强"}, {"name": "赵敏"}],
                            "devices": [
                                {
                                    "name": "ht-db-01",
                                    "kind": "server",
                                    "vendor": "Huawei",
                                    "model": "2288H V5",
                                    "serial": "2102311TYBN0J3000123",
                                },
                                {"name": "ht-sw-1", "kind": "switch", "criticality": "high"},
                                {
                                    "name": "ht-ups-1",
                                    "kind": "ups",
                                    "warranty_end": "2027-01-15",
                                },
                                {"name": "ht-app-01", "kind": "server", "criticality": "low"},
                                {"name": "ht-fw-1", "kind": "firewall"},
                            ],
                        }
                    ],
                }
            ],
        },
        {
            "name": "Beta Hospital",
            "contracts": [
                {
                    "id": "BETA-2026",
                    "name": "Beta 5x8",
                    "start": "2026-01-01",
                    "end": "2026-12-31",
                    "service_manager": {"name": "Wang Li"},
                    "calendar": {
                        "hours": "09:00-18:00",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                    },
                    "sites": [
                        {
                            "name": "Beta Main",
                            "hq": True,
                            "devices": [{"name": "beta-his", "kind": "server"}],
                        }
                    ],
                }
            ],
        },
    ],
    "reports": {
        "company": {"name": "上海维保科技有限公司", "phone": "021-5555 0000"},
        "approved_by": "陈总",
        # Tests roll up months of observations at once, after the fact.
        "raw_retention": "400d",
    },
}


def builder_inventory(**reports: Any) -> Inventory:
    data = {**INVENTORY, "reports": {**INVENTORY["reports"], **reports}}
    return Inventory.model_validate(data)


@dataclass
class ReportDesk:
    """The desk's parts on one frozen clock; every method first moves the clock."""

    store: Store
    inventory: Inventory
    clock: FrozenClock
    ingestor: Ingestor
    workflow: Workflow

    def push(
        self,
        device: str,
        up: float,
        at: datetime,
        *,
        error: str | None = None,
        samples: list[dict[str, Any]] | None = None,
        raw: dict[str, str] | None = None,
        full: bool = False,
    ) -> IngestResult:
        """One agent inspection of ``device`` at ``at`` (received at once)."""
        self.clock.set(at)
        fields: dict[str, Any] = {
            "device": device,
            "source": Source.agent,
            "time": at,
            "ok": error is None,
            "error": error,
            "samples": [{"name": "up", "value": up}, *(samples or [])],
            "raw": raw or {},
            "meta": {"inspection": "full"} if full else {},
        }
        return self.ingestor.ingest([Observation.model_validate(fields)])

    def open(self, device: str, at: datetime, **kw: Any) -> TicketRecord:
        """A fault on ``device`` at ``at`` (an ``up`` of 0): the ticket it opened."""
        result = self.push(device, 0, at, **kw)
        assert len(result.opened) == 1, result
        ticket = self.store.get_ticket(result.opened[0])
        assert ticket is not None
        return ticket

    def step(
        self,
        ticket: TicketRecord,
        name: str,
        body: BaseModel,
        at: datetime,
        actor: Actor = ENGINEER,
    ) -> TicketRecord:
        self.clock.set(at)
        return self.workflow.step(ticket.number, name, body, actor)

    def internal(self, device: str, at: datetime) -> TicketRecord:
        """A monitoring fault of our own (an agent gone silent): an internal ticket."""
        self.clock.set(at)
        alarm = Alarm(
            fingerprint=f"agent_silent:{device}",
            device=device,
            level=Level.III,
            rule="agent_silent",
            title=f"the agent on {device} is silent",
            labels={"audience": "operations"},
            evidence=[Sample(name="agent_silent_seconds", value=600)],
            observed_at=at,
        )
        with self.store.transaction() as tx:
            outcome = apply_alarms(tx, [alarm], [], self.inventory.device_index(), at)
        return outcome.opened[0]

    def roll_up(self, now: datetime) -> None:
        """What the API does before building a report: roll up everything received."""
        self.clock.set(now)
        Rollups(self.store, self.inventory, self.clock).catch_up(now)


def report_desk(store: Store, engine: Engine, inventory: Inventory | None = None) -> ReportDesk:
    inventory = inventory or builder_inventory()
    clock = FrozenClock(utc(2026, 1, 1))
    return ReportDesk(
        store,
        inventory,
        clock,
        Ingestor(store, engine, inventory, clock),
        Workflow(store, inventory, clock),
    )
