"""What the API's refusals say: a code that means something, a guide that fits the call,
a role refusal that names what was asked, and times in UTC after a moved due time."""

from __future__ import annotations

from collections.abc import Iterator

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
from .test_api import Api, obs


@pytest.fixture
def api(store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock) -> Iterator[Api]:
    with AsgiClient(create_app(store, inventory, engine, clock)) as client:
        yield Api(client, store)


def opened(api: Api) -> str:
    answer = api.push(obs("acme-db", 0))
    [number] = answer.json()["tickets_opened"]
    return str(number)


def test_a_step_not_possible_now_has_a_code_that_says_so(api: Api) -> None:
    number = opened(api)
    answer = api.client.post(
        f"/api/v1/tickets/{number}/close", json={}, headers=api.token(Role.engineer)
    )
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "not_possible_now"
    assert "close is not possible now; possible: ack, arrive, plan" in body["message"]


def test_an_invalid_step_body_points_at_the_step_not_at_observations(api: Api) -> None:
    number = opened(api)
    answer = api.client.post(
        f"/api/v1/tickets/{number}/resolve",
        json={"diagnosis": "x"},
        headers=api.token(Role.manager),
    )
    assert answer.status_code == 422
    message = answer.json()["message"]
    assert "observations.md" not in message and "docs/desk.md" in message
    bad_push = api.push({"device": "acme-db"})
    assert "docs/observations.md" in bad_push.json()["message"]


def test_a_moved_due_time_is_given_in_utc_like_every_other(api: Api) -> None:
    number = opened(api)
    answer = api.client.post(
        f"/api/v1/tickets/{number}/due",
        json={
            "clock": "resolve",
            "due": "2026-03-03T18:00:00+08:00",
            "reason": "change window",
            "agreed_by": "陈静",
        },
        headers=api.token(Role.manager),
    )
    assert answer.status_code == 200, answer.text
    resolve = answer.json()["clocks"]["resolve"]
    assert resolve["due"] == "2026-03-03T10:00:00Z"
    assert resolve["due_local"] == "2026-03-03T18:00:00+08:00"
    [move] = resolve["moves"]
    assert move["due"] == "2026-03-03T10:00:00Z" and move["previous"].endswith("Z")


@pytest.mark.parametrize(
    ("path", "asked"),
    [
        ("/api/v1/followups", "list the follow-up calls"),
        ("/api/v1/parts", "manage spare parts"),
        ("/api/v1/rmas", "read or move vendor RMAs"),
        ("/api/v1/devices/acme-db/components", "recorded serials"),
    ],
)
def test_a_customer_refused_is_told_what_was_refused(api: Api, path: str, asked: str) -> None:
    answer = api.client.get(path, headers=api.token(Role.customer, "Acme Bank"))
    assert answer.status_code == 403
    message = answer.json()["message"]
    assert asked in message
    if "parts" not in path:
        assert "spare parts" not in message


def test_an_unknown_token_is_logged_with_the_database_it_was_looked_up_in(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="weibao.desk.auth"):
        answer = api.client.get(
            "/api/v1/tickets", headers={"Authorization": "Bearer wb_not-a-token-of-this-desk"}
        )
    assert answer.status_code == 401
    [record] = [r for r in caplog.records if r.getMessage() == "token.unknown"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["db"] == api.store.display_url
    assert "wb_not" not in str(fields)
    issued = issue_token(api.store, Role.engineer, None, None, START)
    assert api.client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {issued.token}"})
