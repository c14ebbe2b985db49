"""The documented limits (issue 13, items 7 and 12): what one observation may hold, the
request body, ticket paging, and slow clients that never finish a request's head."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from desk.api import create_app
from desk.model import Role
from desk.server import DeskServer
from desk.storage import Store
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import (
    LABEL_VALUE_LIMIT,
    LABELS_LIMIT,
    META_ENTRIES_LIMIT,
    META_VALUE_LIMIT,
    SAMPLES_LIMIT,
)

from .asgi import AsgiClient
from .conftest import START

MAX_BODY = 256 * 1024


@pytest.fixture
def client(
    store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock
) -> Iterator[AsgiClient]:
    with AsgiClient(create_app(store, inventory, engine, clock, max_body=MAX_BODY)) as client:
        yield client


@pytest.fixture
def agent(store: Store) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(store, Role.agent, None, None, START).token}"}


def obs(**extra: Any) -> dict[str, Any]:
    return {
        "device": "acme-db",
        "source": "agent",
        "time": START.isoformat(),
        "samples": [{"name": "up", "value": 1}],
        **extra,
    }


def labels(count: int, size: int = 1) -> dict[str, str]:
    return {f"l{i}": "v" * size for i in range(count)}


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"samples": [{"name": "up", "labels": labels(1, LABEL_VALUE_LIMIT + 1), "value": 1}]},
         f"at most {LABEL_VALUE_LIMIT}"),
        ({"samples": [{"name": "up", "labels": {"k" * 101: "v"}, "value": 1}]}, "label name"),
        ({"samples": [{"name": "up", "labels": labels(LABELS_LIMIT + 1), "value": 1}]},
         f"at most {LABELS_LIMIT}"),
        ({"samples": [{"name": "up", "value": 1}] * (SAMPLES_LIMIT + 1)}, str(SAMPLES_LIMIT)),
        ({"meta": labels(META_ENTRIES_LIMIT + 1)}, f"at most {META_ENTRIES_LIMIT}"),
        ({"meta": labels(1, META_VALUE_LIMIT + 1)}, f"at most {META_VALUE_LIMIT}"),
        ({"error": "e" * 2001}, "2000"),
    ],
)  # fmt: skip
def test_beyond_a_limit_is_422_naming_it(
    client: AsgiClient, agent: dict[str, str], extra: dict[str, Any], why: str
) -> None:
    answer = client.post("/api/v1/observations", json=obs(**extra), headers=agent)
    assert answer.status_code == 422, answer.text
    assert why in answer.text
    assert "vvvvvvvvvv" not in answer.text and "eeeeeeeeee" not in answer.text


def test_at_the_limits_is_accepted(client: AsgiClient, agent: dict[str, str]) -> None:
    sample = {"name": "up", "labels": labels(LABELS_LIMIT, 20), "value": 1}
    body = obs(samples=[sample] * 2, meta=labels(META_ENTRIES_LIMIT, 20))
    answer = client.post("/api/v1/observations", json=body, headers=agent)
    assert answer.status_code == 200, answer.text


def test_a_megabyte_label_is_refused_without_echo(
    store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock, agent: dict[str, str]
) -> None:
    with AsgiClient(create_app(store, inventory, engine, clock)) as client:
        body = obs(samples=[{"name": "up", "labels": {"disk": "x" * 1_000_000}, "value": 1}])
        answer = client.post("/api/v1/observations", json=body, headers=agent)
    assert answer.status_code == 422 and len(answer.content) < 2000


def test_a_body_over_the_limit_is_413_by_its_content_length(
    client: AsgiClient, agent: dict[str, str]
) -> None:
    body = json.dumps([obs(meta={"pad": "x" * 4000}) for _ in range(100)]).encode()
    assert len(body) > MAX_BODY
    answer = client.post(
        "/api/v1/observations",
        content=body,
        headers={**agent, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "too_large"
    assert str(MAX_BODY) in answer.json()["message"]


def test_a_chunked_body_over_the_limit_is_413_by_counting(
    client: AsgiClient, agent: dict[str, str]
) -> None:
    chunk = json.dumps(obs(meta={"pad": "x" * 4000})).encode()

    async def chunks() -> Any:  # no Content-Length: httpx sends it chunked
        yield b"["
        for _ in range(100):
            yield chunk + b","
        yield chunk + b"]"

    answer = client.post(
        "/api/v1/observations",
        content=chunks(),
        headers={**agent, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert str(MAX_BODY) in answer.json()["message"]


def test_a_body_under_the_limit_is_taken(client: AsgiClient, agent: dict[str, str]) -> None:
    answer = client.post("/api/v1/observations", json=[obs(), obs()], headers=agent)
    assert answer.status_code == 200 and answer.json()["accepted"] == 2


# -- slow clients ------------------------------------------------------------------------


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed the connection (recv gives b"")."""
    started = time.monotonic()
    sock.settimeout(seconds)
    while True:
        data = sock.recv(65536)
        if not data:
            return time.monotonic() - started


@pytest.fixture
def server(
    store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock
) -> Iterator[DeskServer]:
    with DeskServer(create_app(store, inventory, engine, clock), port=0, head_timeout=1.0) as s:
        yield s


def address(server: DeskServer) -> tuple[str, int]:
    host_port = server.url.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    return host, int(port)


def test_half_a_header_is_closed_by_the_server(server: DeskServer) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: desk\r\nX-Slow: ")
        assert closed_within(sock, 10) < 5


def test_a_byte_at_a_time_does_not_hold_the_connection(server: DeskServer) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        started = time.monotonic()
        with pytest.raises(OSError):  # reset or broken pipe once the server closed it
            for byte in b"GET /healthz HTTP/1.1\r\nHost: desk\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa":
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    raise ConnectionResetError
        assert time.monotonic() - started < 5


def test_a_silent_connection_is_closed_and_a_normal_request_still_served(
    server: DeskServer,
) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        assert closed_within(sock, 10) < 5
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_half_a_header_after_a_keep_alive_request_is_closed_too(server: DeskServer) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: desk\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        assert closed_within(sock, 10) < 5
