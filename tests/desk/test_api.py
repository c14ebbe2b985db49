"""The HTTP API in process (httpx ASGITransport): tokens and roles, customer scoping,
batches, the ticket JSON, and errors as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from desk.api import create_app
from desk.model import Role
from desk.storage import Store
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .asgi import AsgiClient
from .conftest import START

M = timedelta(minutes=1)
TICKET_KEYS = {
    "id", "number", "customer", "contract", "site", "device", "level", "status", "title",
    "fingerprint", "detected_at", "clocks", "events",
}  # fmt: skip


class Api:
    """A client plus a way to mint tokens against the same store."""

    def __init__(self, client: AsgiClient, store: Store) -> None:
        self.client = client
        self.store = store

    def token(self, role: Role, customer: str | None = None) -> dict[str, str]:
        issued = issue_token(self.store, role, customer, None, START)
        return {"Authorization": f"Bearer {issued.token}"}

    def push(self, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            "/api/v1/observations", json=body, headers=headers or self.token(Role.agent)
        )


@pytest.fixture
def api(store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock) -> Iterator[Api]:
    with AsgiClient(create_app(store, inventory, engine, clock, max_batch=5)) as client:
        yield Api(client, store)


def obs(device: str, up: float, at: datetime = START, **extra: Any) -> dict[str, Any]:
    return {
        "device": device,
        "source": "agent",
        "time": at.isoformat(),
        "samples": [{"name": "up", "value": up}],
        **extra,
    }


def test_healthz_needs_no_token(api: Api) -> None:
    answer = api.client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/tickets"), ("GET", "/api/v1/tickets/1"), ("POST", "/api/v1/observations")],
)
def test_every_api_call_needs_a_token(api: Api, method: str, path: str) -> None:
    answer = api.client.request(method, path, json=obs("acme-db", 1))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    body = answer.json()
    assert body["error"] == "unauthorized" and "weibao token create" in body["message"]


def test_an_unknown_or_revoked_token_is_refused(api: Api) -> None:
    bogus = {"Authorization": "Bearer wb_" + "x" * 43}
    assert api.client.get("/api/v1/tickets", headers=bogus).status_code == 401
    issued = issue_token(api.store, Role.engineer, None, None, START)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get("/api/v1/tickets", headers=headers).status_code == 200
    api.store.revoke_token(issued.record.id, START)
    assert api.client.get("/api/v1/tickets", headers=headers).status_code == 401


def test_an_agent_may_push_but_not_read_tickets(api: Api) -> None:
    agent = api.token(Role.agent)
    assert api.push(obs("acme-db", 1), agent).status_code == 200
    answer = api.client.get("/api/v1/tickets", headers=agent)
    assert answer.status_code == 403
    body = answer.json()
    assert body["error"] == "forbidden"
    assert body["message"] == (
        "an agent token may not read tickets: use a token with role engineer, manager or customer"
    )


def test_a_customer_may_not_push(api: Api) -> None:
    answer = api.push(obs("acme-db", 0), api.token(Role.customer, "Acme Bank"))
    assert answer.status_code == 403


def test_a_batch_is_accepted_and_replays_are_counted_as_duplicates(api: Api) -> None:
    batch = [obs("acme-db", 0, id=f"agent-7-{i:06d}") for i in range(3)]
    first = api.push(batch)
    assert first.status_code == 200
    assert first.json() == {
        "accepted": 3,
        "duplicates": 0,
        "unknown_devices": [],
        "tickets_opened": ["WB-2026-000001"],
    }
    again = api.push([*batch[:2], obs("ghost-box", 0)])
    assert again.json()["accepted"] == 1 and again.json()["duplicates"] == 2
    assert again.json()["unknown_devices"] == ["ghost-box"]


def test_a_single_observation_is_accepted_too(api: Api) -> None:
    assert api.push(obs("acme-db", 1)).json()["accepted"] == 1


def test_too_large_a_batch_says_how_many_to_send(api: Api) -> None:
    answer = api.push([obs("acme-db", 1) for _ in range(6)])
    assert answer.status_code == 413 and "at most 5" in answer.json()["message"]


def test_an_invalid_observation_is_explained_without_echoing_it(api: Api) -> None:
    bad = obs("acme-db", 1)
    bad["time"] = "2026-03-02T08:00:00"  # no offset
    bad["meta"] = {"note": "customer-secret-value"}
    answer = api.push([bad])
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request" and body["problems"]
    assert any("offset" in p["message"] for p in body["problems"])
    assert "customer-secret-value" not in answer.text


def test_the_ticket_json_has_the_agreed_shape(api: Api, clock: FrozenClock) -> None:
    api.push([obs("acme-branch-fw", 0)])
    clock.advance(25 * M)  # past the 20 min response clock, within the 2 h on-site clock
    engineer = api.token(Role.engineer)
    listing = api.client.get("/api/v1/tickets", headers=engineer).json()
    assert listing["total"] == 1
    [summary] = listing["items"]
    assert "events" not in summary
    ticket = api.client.get(f"/api/v1/tickets/{summary['id']}", headers=engineer).json()
    assert ticket.keys() >= TICKET_KEYS
    assert ticket["number"] == "WB-2026-000001"
    assert (ticket["customer"], ticket["contract"], ticket["site"]) == (
        "Acme Bank",
        "ACME-2026",
        "Acme Branch",
    )
    assert ticket["level"] == "II" and ticket["status"] == "open"
    assert datetime.fromisoformat(ticket["detected_at"]) == START
    clocks = ticket["clocks"]
    assert set(clocks) == {"response", "onsite", "resolve"}
    assert datetime.fromisoformat(clocks["response"]["due"]) == START + 20 * M
    assert datetime.fromisoformat(clocks["onsite"]["due"]) == START + 120 * M  # remote site
    assert clocks["response"]["breached"] is True and clocks["onsite"]["breached"] is False
    assert clocks["response"]["met_at"] is None
    assert clocks["onsite"]["due_local"].endswith("+06:00")  # Asia/Urumqi
    [opened] = ticket["events"]
    assert opened["kind"] == "opened" and opened["actor"] == "weibao"
    assert datetime.fromisoformat(opened["at"]).utcoffset() == timedelta(0)
    by_number = api.client.get(f"/api/v1/tickets/{ticket['number']}", headers=engineer).json()
    assert by_number["id"] == ticket["id"]


def test_filters(api: Api) -> None:
    api.push([obs("acme-core", 0), obs("acme-db", 0), obs("beta-his", 0)])
    manager = api.token(Role.manager)

    def devices(**params: str) -> list[str]:
        answer = api.client.get("/api/v1/tickets", headers=manager, params=params)
        assert answer.status_code == 200, answer.text
        return sorted(t["device"] for t in answer.json()["items"])

    assert devices() == ["acme-core", "acme-db", "beta-his"]
    assert devices(level="I") == ["acme-core"]
    assert devices(customer="Beta Hospital") == ["beta-his"]
    assert devices(device="acme-db", status="open") == ["acme-db"]
    assert devices(status="closed") == []
    bad = api.client.get("/api/v1/tickets", headers=manager, params={"level": "V"})
    assert bad.status_code == 422


def test_a_customer_token_sees_only_its_own_customer(api: Api) -> None:
    api.push([obs("acme-db", 0), obs("beta-his", 0)])
    beta = api.token(Role.customer, "Beta Hospital")
    listing = api.client.get("/api/v1/tickets", headers=beta).json()
    assert [t["customer"] for t in listing["items"]] == ["Beta Hospital"]
    assert listing["total"] == 1

    acme_ticket = api.client.get(
        "/api/v1/tickets", headers=api.token(Role.engineer), params={"customer": "Acme Bank"}
    ).json()["items"][0]
    other = api.client.get(f"/api/v1/tickets/{acme_ticket['id']}", headers=beta)
    missing = api.client.get("/api/v1/tickets/999", headers=beta)
    # Another customer's ticket looks exactly like one that does not exist.
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"] == "not_found"
    asked = api.client.get("/api/v1/tickets", headers=beta, params={"customer": "Acme Bank"})
    assert asked.status_code == 403


def test_the_openapi_document_describes_the_api(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert {"/api/v1/observations", "/api/v1/tickets", "/api/v1/tickets/{key}"} <= set(doc["paths"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_a_customer_token_reads_a_ticket_without_anything_internal(api: Api) -> None:
    """The API shows a customer what the portal shows (desk.disclosure): no staff notes,
    referrals, RMA numbers or raw device output; its own notes and the clocks stay."""
    api.push([obs("acme-db", 0)])
    staff = api.token(Role.engineer)
    acme = api.token(Role.customer, "Acme Bank")
    number = api.client.get("/api/v1/tickets", headers=staff).json()["items"][0]["number"]
    steps = {
        "arrive": ({}, staff),
        "note": ({"text": "customer is slow to open the cage"}, staff),
        "refer": ({"kind": "vendor", "to": "H3C TAC", "reason": "board fault"}, staff),
        "part": ({"part_number": "PSU-1", "from_stock": False, "rma_number": "RMA-77"}, staff),
    }
    for step, (body, headers) in steps.items():
        answer = api.client.post(f"/api/v1/tickets/{number}/{step}", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    api.client.post(f"/api/v1/tickets/{number}/note", json={"text": "谢谢"}, headers=acme)

    seen_by_staff = api.client.get(f"/api/v1/tickets/{number}", headers=staff).json()
    seen = api.client.get(f"/api/v1/tickets/{number}", headers=acme).json()
    staff_kinds = {e["kind"] for e in seen_by_staff["events"]}
    kinds = [e["kind"] for e in seen["events"]]
    assert {"referred", "note"} <= staff_kinds
    assert "referred" not in kinds and "escalated" not in kinds
    assert [e["data"].get("text") for e in seen["events"] if e["kind"] == "note"] == ["谢谢"]
    assert seen_by_staff["parts"][0]["rma_number"] == "RMA-77"
    assert seen["parts"][0]["rma_number"] is None and seen["parts"][0]["part_number"] == "PSU-1"
    assert "RMA-77" not in str(seen) and "cage" not in str(seen) and "board fault" not in str(seen)
    assert seen["snapshot"] == {}
    assert seen["clocks"] == seen_by_staff["clocks"]
