"""Shared desk fixtures: a small inventory (an HQ site, a remote site, and a customer
whose contract overrides the SLA), a frozen clock, a migrated SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import rules
from desk.storage import Store
from desk.storage.records import NewTicket, TicketRecord
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation, Source

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _contract(cid: str, sites: list[dict[str, Any]], sla: dict[str, Any] | None = None) -> dict:
    contract: dict[str, Any] = {
        "id": cid,
        "name": f"contract {cid}",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "service_manager": {"name": "Wang Li", "email": "wang@example.com"},
        "sites": sites,
    }
    if sla is not None:
        contract["sla"] = sla
    return contract


INVENTORY: dict[str, Any] = {
    "customers": [
        {
            "name": "Acme Bank",
            "contracts": [
                _contract(
                    "ACME-2026",
                    [
                        {
                            "name": "Acme HQ",
                            "hq": True,
                            "devices": [
                                {"name": "acme-core", "kind": "switch", "criticality": "high"},
                                {"name": "acme-db", "kind": "server"},
                            ],
                        },
                        {
                            "name": "Acme Branch",
                            "hq": False,
                            "timezone": "Asia/Urumqi",
                            "devices": [{"name": "acme-branch-fw", "kind": "firewall"}],
                        },
                    ],
                )
            ],
        },
        {
            "name": "Beta Hospital",
            "contracts": [
                _contract(
                    "BETA-2026",
                    [
                        {
                            "name": "Beta Main",
                            "hq": True,
                            "devices": [{"name": "beta-his", "kind": "server"}],
                        }
                    ],
                    sla={
                        "I": {"response": "1h", "onsite_hq": "2h", "resolve": "24h"},
                        "II": {"resolve": "48h"},
                    },
                )
            ],
        },
    ]
}


@pytest.fixture
def inventory() -> Inventory:
    return Inventory.model_validate(INVENTORY)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


# Desk tests are about tickets, not rule timing: a pack whose unreachable rule fires on
# the first `up 0` (the default pack waits 2 minutes; tests/rules covers that).
IMMEDIATE_RULES = Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "immediate"


@pytest.fixture
def engine() -> Engine:
    return rules.load_engine(IMMEDIATE_RULES)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.migrate()
    yield store
    store.close()


def observation(
    device: str, up: float, at: datetime, obs_id: str | None = None, **extra: Any
) -> Observation:
    """An agent observation with an ``up`` sample (what the first rule looks at)."""
    fields: dict[str, Any] = {
        "device": device,
        "source": Source.agent,
        "time": at,
        "samples": [{"name": "up", "value": up}],
        **extra,
    }
    if obs_id is not None:
        fields["id"] = obs_id
    return Observation.model_validate(fields)


def twin_of(ticket: TicketRecord, at: datetime) -> NewTicket:
    """A second ticket for the same fault, which the database itself must refuse."""
    return NewTicket(
        number="WB-2026-999999",
        fingerprint=ticket.fingerprint,
        rule=ticket.rule,
        customer=ticket.customer,
        contract=ticket.contract,
        site=ticket.site,
        site_hq=ticket.site_hq,
        timezone=ticket.timezone,
        device=ticket.device,
        level=ticket.level,
        title=ticket.title,
        description="",
        labels={},
        detected_at=at,
        due=ticket.due,
    )
