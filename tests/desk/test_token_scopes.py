"""Agent tokens scoped to a site or a device (issue 13, item 14): a remote collector or
an agent pushes for its own devices only; the rest is refused with 403, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from desk.api import create_app
from desk.model import Role
from desk.storage import Store, TicketQuery
from desk.tokens import TokenError, issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .asgi import AsgiClient
from .conftest import START
from .test_alertmanager import PATH as ALERTMANAGER
from .test_alertmanager import alert, am_inventory, payload

M = timedelta(minutes=1)


@pytest.fixture
def client(store: Store, engine: Engine, clock: FrozenClock) -> Iterator[AsgiClient]:
    inventory = Inventory.model_validate(am_inventory())
    with AsgiClient(create_app(store, inventory, engine, clock)) as client:
        yield client


def bearer(store: Store, role: Role = Role.agent, **scope: str) -> dict[str, str]:
    issued = issue_token(store, role, None, None, START, **scope)
    return {"Authorization": f"Bearer {issued.token}"}


def obs(device: str, n: int = 0) -> dict[str, Any]:
    return {
        "id": f"scope-{device}-{n}",
        "device": device,
        "source": "snmp",
        "time": (START - M).isoformat(),
        "samples": [{"name": "up", "labels": {}, "value": 1}],
    }


def stored(store: Store, device: str) -> int:
    return len(store.recent_observations(device, 10))


def test_a_device_token_pushes_for_its_device_only(client: AsgiClient, store: Store) -> None:
    headers = bearer(store, device="acme-db")
    assert client.post("/api/v1/observations", json=obs("acme-db"), headers=headers).is_success
    refused = client.post(
        "/api/v1/observations", json=[obs("acme-db", 1), obs("acme-core")], headers=headers
    )
    assert refused.status_code == 403
    assert "'acme-db' only, not 'acme-core'" in refused.json()["message"]
    assert "--device" in refused.json()["message"]
    # Nothing of the refused batch is stored, not even its own device's observation.
    assert stored(store, "acme-db") == 1 and stored(store, "acme-core") == 0


def test_a_site_token_pushes_for_the_sites_devices(client: AsgiClient, store: Store) -> None:
    headers = bearer(store, site="Acme HQ")
    batch = [obs("acme-core"), obs("acme-db")]
    assert client.post("/api/v1/observations", json=batch, headers=headers).json()["accepted"] == 2
    other_site = client.post("/api/v1/observations", json=obs("beta-his"), headers=headers)
    assert other_site.status_code == 403
    assert "site 'Acme HQ' only; 'beta-his' is at site 'Beta Main'" in other_site.json()["message"]
    stranger = client.post("/api/v1/observations", json=obs("not-ours"), headers=headers)
    assert stranger.status_code == 403 and "not in the inventory" in stranger.json()["message"]
    assert stored(store, "beta-his") == 0 and stored(store, "not-ours") == 0


def test_unscoped_tokens_push_for_any_device(client: AsgiClient, store: Store) -> None:
    for role in (Role.agent, Role.engineer, Role.manager):
        body = obs("beta-his", len(role.value))
        answer = client.post("/api/v1/observations", json=body, headers=bearer(store, role))
        assert answer.is_success, answer.text


def test_alerts_outside_a_scoped_token_are_answered_as_unmatched(
    client: AsgiClient, store: Store
) -> None:
    headers = bearer(store, site="Acme HQ")
    answer = client.post(
        ALERTMANAGER,
        json=payload(
            alert(device="acme-db"),
            alert(fingerprint="bbbbbbbbbbbbbbbb", device="beta-his"),
        ),
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["firing"], body["unmatched"]) == (1, 1)
    [outside] = body["unmatched_alerts"]
    assert outside["fingerprint"] == "bbbbbbbbbbbbbbbb"
    assert "site 'Acme HQ' only" in outside["reason"]
    assert store.count_tickets(TicketQuery(device="acme-db")) == 1
    assert store.count_tickets(TicketQuery(device="beta-his")) == 0


def test_only_an_agent_token_is_scoped_and_to_one_place(store: Store) -> None:
    with pytest.raises(TokenError, match="scope an agent token"):
        issue_token(store, Role.engineer, None, None, START, site="Acme HQ")
    with pytest.raises(TokenError, match="not both"):
        issue_token(store, Role.agent, None, None, START, site="Acme HQ", device="acme-db")
    record = issue_token(store, Role.agent, None, None, START, device=" acme-db ").record
    assert (record.site, record.device) == (None, "acme-db")
    assert [(t.site, t.device) for t in store.list_tokens()] == [(None, "acme-db")]
