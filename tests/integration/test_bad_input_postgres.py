"""What only PostgreSQL refuses (issue 13, items 9 and 11), on a real cluster: NUL in
text and in the URL, a megabyte label, non-finite values, and two identical alerts at
once; each a clear 4xx (or one ticket), never a 500."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import rules
from desk.api import create_app
from desk.model import Role
from desk.server import DeskServer
from desk.storage import Store, TicketQuery
from desk.tokens import issue_token
from tests.desk.asgi import AsgiClient
from tests.desk.conftest import IMMEDIATE_RULES
from tests.desk.test_alertmanager import alert, am_inventory, payload
from tests.integration.test_postgres_store import postgres_url  # noqa: F401 - the cluster
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:  # noqa: F811
    store = Store(postgres_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def app_parts(store: Store) -> tuple[Any, str, str]:
    inventory = Inventory.model_validate(am_inventory())
    app = create_app(store, inventory, rules.load_engine(IMMEDIATE_RULES), FrozenClock(NOW))
    agent = issue_token(store, Role.agent, None, None, NOW).token
    engineer = issue_token(store, Role.engineer, None, None, NOW).token
    return app, agent, engineer


def obs(**extra: Any) -> dict[str, Any]:
    return {
        "device": "acme-db",
        "source": "agent",
        "time": (NOW - timedelta(minutes=1)).isoformat(),
        "samples": [{"name": "up", "labels": {}, "value": 1}],
        **extra,
    }


@pytest.mark.parametrize(
    "text",
    [
        json.dumps([obs(device="acme\x00db")]),
        json.dumps([obs(id="00000000-\x00")]),
        json.dumps([obs(samples=[{"name": "up", "labels": {"disk": "a\x00"}, "value": 1}])]),
        json.dumps([obs(meta={"k": "a\x00"})]),
        json.dumps([obs(samples=[{"name": "up", "labels": {"d": "x" * 1_000_000}, "value": 1}])]),
        json.dumps([obs(samples=[{"name": "up", "labels": {}, "value": float("nan")}])]),
        json.dumps([obs(samples=[{"name": "up", "labels": {}, "value": float("inf")}])]),
        json.dumps([obs()]).replace('"value": 1', '"value": 1e999'),
    ],
)
def test_what_postgresql_cannot_store_is_a_422(app_parts: tuple[Any, str, str], text: str) -> None:
    app, agent, _ = app_parts
    with AsgiClient(app) as client:
        answer = client.post(
            "/api/v1/observations",
            content=text.encode(),
            headers={"Authorization": f"Bearer {agent}", "Content-Type": "application/json"},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] and len(answer.content) < 5000


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/tickets?device=acme%00db"),
        ("GET", "/api/v1/tickets/WB-2026%00"),
        ("POST", "/api/v1/tickets/WB%00/ack"),
        ("GET", "/api/v1/devices/acme%00db/components"),
        ("GET", "/api/v1/tickets/9223372036854775808"),
        ("GET", "/api/v1/tickets/%C2%B9"),
        ("GET", "/api/v1/tickets?offset=100000000000000000000"),
    ],
)
def test_nul_and_huge_keys_in_the_url_are_4xx(
    app_parts: tuple[Any, str, str], method: str, url: str
) -> None:
    app, _, engineer = app_parts
    with AsgiClient(app) as client:
        answer = client.request(method, url, headers={"Authorization": f"Bearer {engineer}"})
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["error"]


def test_two_identical_alerts_at_once_open_one_ticket(
    app_parts: tuple[Any, str, str], store: Store
) -> None:
    app, agent, _ = app_parts
    body = payload(alert(starts=NOW - timedelta(minutes=1), labels={"device": "acme-core"}))
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send(url: str) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            answer = client.post(
                f"{url}/api/v1/alertmanager",
                json=body,
                headers={"Authorization": f"Bearer {agent}"},
            )
            statuses.append(answer.status_code)

    with DeskServer(app, port=0) as server:
        threads = [threading.Thread(target=send, args=(server.url,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    assert statuses == [200] * 6
    assert store.count_tickets(TicketQuery(device="acme-core")) == 1
