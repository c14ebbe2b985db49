"""Input that used to crash the desk with a 500 (issue 13, items 6, 8, 9, 11) answers a
clear 4xx in the usual JSON error shape, never echoing the rejected input; times out of
range cannot be stored; a spool replay of old observations opens no ticket; two identical
alerts at once open one ticket. SQLite here; tests/integration/test_bad_input_postgres.py
repeats what only PostgreSQL refuses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from desk.api import create_app
from desk.model import Role
from desk.server import DeskServer
from desk.storage import Store, TicketQuery
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .asgi import AsgiClient
from .conftest import START
from .test_alertmanager import alert, am_inventory, payload

M = timedelta(minutes=1)
HUGE = "9" * 400


class Api:
    def __init__(self, client: AsgiClient, store: Store) -> None:
        self.client = client
        self.store = store

    def token(self, role: Role = Role.engineer) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.store, role, None, None, START).token}"}

    def push_text(self, text: str) -> httpx.Response:
        headers = {**self.token(Role.agent), "Content-Type": "application/json"}
        return self.client.post("/api/v1/observations", content=text.encode(), headers=headers)

    def push(self, *observations: dict[str, Any]) -> httpx.Response:
        # json.dumps escapes a lone surrogate as \ud800 and writes NaN as NaN: what a
        # broken sender puts on the wire, which httpx's own encoder would refuse.
        return self.push_text(json.dumps(list(observations)))

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url, headers=self.token())


@pytest.fixture
def api(store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock) -> Iterator[Api]:
    with AsgiClient(create_app(store, inventory, engine, clock)) as client:
        yield Api(client, store)


def obs(up: float = 1, at: datetime = START, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "device": "acme-db",
        "source": "agent",
        "time": at.isoformat(),
        "samples": [{"name": "up", "labels": {}, "value": up}],
    }
    fields.update(extra)
    return fields


def refused(answer: httpx.Response, status: int, *hidden: str) -> dict[str, Any]:
    """A clear JSON refusal that repeats none of ``hidden``."""
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] and body["message"]
    for text in hidden:
        assert text not in answer.text
    return body


def problems(body: dict[str, Any]) -> str:
    """The problems' messages (a list body is also tried as a single observation)."""
    return " | ".join(p["message"] for p in body.get("problems", []))


# -- item 8: time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",
        "1971-03-02T08:00:00Z",
    ],
)
def test_a_time_out_of_range_is_refused(api: Api, stamp: str) -> None:
    body = refused(api.push(obs(time=stamp)), 422)
    assert "clock is wrong" in problems(body)
    assert api.store.count_tickets(TicketQuery()) == 0


def test_a_time_ahead_of_the_desk_clock_is_refused_saying_by_how_much(api: Api) -> None:
    body = refused(api.push(obs(0, START - M), obs(0, START + 60 * M)), 422)
    assert body["error"] == "clock_ahead"
    assert "observation 1 is stamped 3600 s ahead" in body["message"]
    assert "synchronise" in body["message"]
    assert api.store.count_tickets(TicketQuery()) == 0  # the whole batch, nothing stored


def test_a_small_skew_ahead_is_accepted(api: Api) -> None:
    answer = api.push(obs(0, START + 4 * M))
    assert answer.status_code == 200, answer.text
    assert answer.json()["tickets_opened"]


def test_an_old_observation_is_stored_but_opens_no_ticket(api: Api) -> None:
    answer = api.push(obs(0, START - 60 * M), obs(0, START - 59 * M))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2 and answer.json()["tickets_opened"] == []
    answer = api.push(obs(0, START))  # the current observation still shows the fault
    assert answer.json()["tickets_opened"]


# -- items 6 and 9: values and text no database can hold ---------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_values_are_refused(api: Api, value: str) -> None:
    text = json.dumps([obs()]).replace('"value": 1', f'"value": {value}')
    assert value in text
    body = refused(api.push_text(text), 422)
    assert "finite number" in problems(body)


SURROGATE = "\ud800"


@pytest.mark.parametrize(
    "extra",
    [
        {"samples": [{"name": "up", "labels": {"disk": SURROGATE}, "value": 1}]},
        {"samples": [{"name": "up", "labels": {SURROGATE: "x"}, "value": 1}]},
        {"device": "acme" + SURROGATE},
        {"id": "00000000-" + SURROGATE},
        {"meta": {"hostname": SURROGATE}},
        {"meta": {SURROGATE: "x"}},
        {"error": "timeout " + SURROGATE},
        {"samples": [{"name": "up", "labels": {"disk": "sd\x00a"}, "value": 1}]},
        {"device": "acme\x00db"},
        {"id": "00000000-\x00"},
        {"meta": {"hostname": "a\x00"}},
    ],
)
def test_text_no_database_can_store_is_refused(api: Api, extra: dict[str, Any]) -> None:
    answer = api.push(obs(**extra))
    body = refused(answer, 422, "\\ud800", "\\u0000")
    # pydantic itself refuses a lone surrogate in a plain string field.
    assert any(why in answer.text for why in ("NUL", "surrogate", "unicode string")), body
    assert api.store.count_tickets(TicketQuery()) == 0


def test_raw_output_with_nul_is_kept_readable_not_refused(api: Api) -> None:
    answer = api.push(obs(source="ssh", raw={"uname": "Linux\x00" + SURROGATE}))
    assert answer.status_code == 200, answer.text


def test_a_lone_surrogate_in_a_workflow_step_is_a_422_not_a_500(api: Api) -> None:
    opened = api.push(obs(0)).json()["tickets_opened"]
    text = json.dumps({"text": "call back " + SURROGATE})
    answer = api.client.post(
        f"/api/v1/tickets/{opened[0]}/note",
        content=text.encode(),
        headers={**api.token(), "Content-Type": "application/json"},
    )
    body = refused(answer, 422, "\\ud800")
    assert body["error"] == "invalid_request"
    ticket = api.store.get_ticket(opened[0])
    assert ticket is not None
    assert [e for e in api.store.ticket_events(ticket.id) if e.kind == "note"] == []


def test_a_lone_surrogate_in_an_alert_is_refused(
    store: Store, engine: Engine, clock: FrozenClock
) -> None:
    inventory = Inventory.model_validate(am_inventory())
    with AsgiClient(create_app(store, inventory, engine, clock)) as client:
        api = Api(client, store)
        text = json.dumps(payload(alert(labels={"device": "acme-db", "disk": SURROGATE})))
        answer = client.post(
            "/api/v1/alertmanager",
            content=text.encode(),
            headers={**api.token(Role.agent), "Content-Type": "application/json"},
        )
        body = refused(answer, 422, "\\ud800")
        assert body["error"] == "invalid_request"
        assert store.count_tickets(TicketQuery()) == 0


# -- item 9: keys and numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["9223372036854775808", HUGE, "%C2%B9", "WB-" + "9" * 100, "0", "-1", "1.5"]
)
def test_a_ticket_key_that_names_no_ticket_is_404(api: Api, key: str) -> None:
    shown = refused(api.get(f"/api/v1/tickets/{key}"), 404, HUGE)
    stepped = refused(api.client.post(f"/api/v1/tickets/{key}/ack", headers=api.token()), 404, HUGE)
    assert shown["error"] == stepped["error"] == "not_found"
    assert "WB-2026-000123" in shown["message"]  # says what a key looks like


def test_a_real_ticket_is_still_found_by_id_and_number(api: Api) -> None:
    [number] = api.push(obs(0)).json()["tickets_opened"]
    by_number = api.get(f"/api/v1/tickets/{number}").json()
    assert api.get(f"/api/v1/tickets/{by_number['id']}").json()["number"] == number
    answer = api.client.post(f"/api/v1/tickets/{by_number['id']}/ack", headers=api.token())
    assert answer.status_code == 200 and answer.json()["status"] == "acknowledged"


@pytest.mark.parametrize(
    "query", ["offset=100000000000000000000", "offset=1000001", "limit=1001", "limit=0"]
)
def test_paging_beyond_the_limits_is_422(api: Api, query: str) -> None:
    body = refused(api.get(f"/api/v1/tickets?{query}"), 422)
    assert [p["where"] for p in body["problems"]] == [f"query.{query.split('=')[0]}"]


def test_the_largest_page_and_offset_are_answered(api: Api) -> None:
    answer = api.get("/api/v1/tickets?limit=1000&offset=1000000")
    assert answer.status_code == 200 and answer.json()["items"] == []


@pytest.mark.parametrize("use_id", ["9223372036854775808", HUGE, "0"])
def test_a_huge_rma_id_is_422(api: Api, use_id: str) -> None:
    answer = api.client.post(
        f"/api/v1/rmas/{use_id}", json={"status": "shipped"}, headers=api.token()
    )
    body = refused(answer, 422, HUGE)
    assert [p["where"] for p in body["problems"]] == ["path.use_id"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/WB%00",
        "/api/v1/tickets/1%00/ack",
        "/api/v1/tickets?device=acme%00db",
        "/api/v1/devices/acme%00db/components",
    ],
)
def test_nul_in_the_url_is_422(api: Api, url: str) -> None:
    answer = api.client.request("POST" if url.endswith("/ack") else "GET", url, headers=api.token())
    body = refused(answer, 422)
    assert "NUL" in body["message"]


# -- item 11: two identical alerts at once -------------------------------------------------


def test_two_identical_alerts_at_once_open_one_ticket(
    store: Store, engine: Engine, tmp_path: Any
) -> None:
    inventory = Inventory.model_validate(am_inventory())
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(store, inventory, engine, clock)
    token = issue_token(store, Role.agent, None, None, clock.now()).token
    body = payload(alert(starts=clock.now() - M, labels={"device": "acme-db"}))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            answer = client.post(
                f"{url}/api/v1/alertmanager",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(answer.status_code)

    with DeskServer(app, port=0) as server:
        url = server.url
        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert statuses == [200] * 4
    assert store.count_tickets(TicketQuery()) == 1
