"""Agents are matched to inventory devices by name, machine-id, DMI serial or host name;
what matches nothing is kept and listed as not under contract."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from desk.api import create_app
from desk.identity import IdentityIndex
from desk.model import Role
from desk.storage import Store
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation

from .asgi import AsgiClient
from .conftest import INVENTORY, START


def inventory_with_identity() -> Inventory:
    data: dict[str, Any] = copy.deepcopy(INVENTORY)
    hq = data["customers"][0]["contracts"][0]["sites"][0]
    db = next(d for d in hq["devices"] if d["name"] == "acme-db")
    db["serial"] = "CN7016-ABC"
    db["inspect"] = {"agent": {"hostname": "db01.acme.local", "machine_id": "0f3c9a"}}
    return Inventory.model_validate(data)


def agent_obs(device: str, **meta: str) -> Observation:
    return Observation.model_validate(
        {"device": device, "source": "agent", "time": START, "meta": meta,
         "samples": [{"name": "up", "value": 0}]}
    )  # fmt: skip


@pytest.mark.parametrize(
    "meta",
    [
        {"machine_id": "0F3C9A"},
        {"dmi_serial": "cn7016-abc"},
        {"hostname": "DB01.acme.local"},
        {"hostname": "wrong-name", "machine_id": "0f3c9a"},  # the strongest identity wins
    ],
)
def test_an_agent_with_a_default_name_is_matched_by_its_identity(meta: dict[str, str]) -> None:
    index = IdentityIndex(inventory_with_identity())
    resolved = index.resolve(agent_obs("localhost", **meta))
    assert resolved.device == "acme-db"
    assert resolved.meta["reported_device"] == "localhost"


def test_the_inventory_name_wins_and_nothing_else_matches_by_accident() -> None:
    index = IdentityIndex(inventory_with_identity())
    named = agent_obs("acme-core", hostname="db01.acme.local")
    assert index.resolve(named) is named
    assert index.match(agent_obs("rogue", hostname="rogue.local", machine_id="ffff")) is None


@pytest.fixture
def client(store: Store, engine: Engine, clock: FrozenClock) -> Iterator[AsgiClient]:
    with AsgiClient(create_app(store, inventory_with_identity(), engine, clock)) as c:
        yield c


def bearer(store: Store, role: Role, customer: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(store, role, customer, None, START).token}"}


def test_matched_agents_open_tickets_and_strangers_are_listed_for_managers(
    client: AsgiClient, store: Store
) -> None:
    agent = bearer(store, Role.agent)
    matched = agent_obs("localhost", machine_id="0f3c9a").model_dump(mode="json")
    stranger = agent_obs("nas-07", hostname="nas-07.lan", machine_id="77aa").model_dump(mode="json")
    answer = client.post("/api/v1/observations", json=[matched, stranger], headers=agent).json()
    assert answer["unknown_devices"] == ["nas-07"]
    assert len(answer["tickets_opened"]) == 1

    manager = bearer(store, Role.manager)
    tickets = client.get("/api/v1/tickets", headers=manager).json()["items"]
    assert [t["device"] for t in tickets] == ["acme-db"]

    listed = client.get("/api/v1/devices/unknown", headers=manager).json()["items"]
    assert [(d["device"], d["observations"], d["source"]) for d in listed] == [
        ("nas-07", 1, "agent")
    ]
    assert listed[0]["identity"] == {"hostname": "nas-07.lan", "machine_id": "77aa"}


@pytest.mark.parametrize("role", [Role.agent, Role.customer])
def test_only_staff_see_devices_not_under_contract(
    client: AsgiClient, store: Store, role: Role
) -> None:
    customer = "Acme Bank" if role is Role.customer else None
    answer = client.get("/api/v1/devices/unknown", headers=bearer(store, role, customer))
    assert answer.status_code == 403
