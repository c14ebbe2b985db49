"""The push client against an in-process transport: no sockets, every desk answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from agent.push import PushClient, PushError, read_token
from weibao.errors import WeibaoError
from weibao.observation import Observation, Sample

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def obs() -> Observation:
    return Observation(
        device="hq-db-01", source="agent", time=NOW, samples=[Sample(name="up", value=1)]
    )


def client_answering(status: int, body: object, seen: list[httpx.Request]) -> PushClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return PushClient("http://desk.test/", "wb_token", transport=httpx.MockTransport(handler))


def test_push_sends_the_batch_with_the_bearer_token() -> None:
    seen: list[httpx.Request] = []
    batch = [obs(), obs()]
    with client_answering(200, {"accepted": 2, "duplicates": 0}, seen) as client:
        result = client.push(batch)
    assert (result.accepted, result.duplicates) == (2, 0)
    request = seen[0]
    assert request.url.path == "/api/v1/observations"
    assert request.headers["authorization"] == "Bearer wb_token"
    assert [o["id"] for o in json.loads(request.content)] == [o.id for o in batch]


@pytest.mark.parametrize(
    ("status", "retryable", "words"),
    [
        (401, False, "refused the token"),
        (403, False, "role agent"),
        (422, False, "invalid"),
        (503, True, "unavailable"),
        (429, True, "unavailable"),
        (404, False, "HTTP 404"),
    ],
)
def test_desk_answers_become_clear_errors(status: int, retryable: bool, words: str) -> None:
    with client_answering(status, {"detail": "x"}, []) as client, pytest.raises(PushError) as err:
        client.push([obs()])
    assert err.value.retryable is retryable
    assert words in str(err.value)


def test_unreachable_desk_is_retryable_and_never_shows_the_token() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = PushClient("http://desk.test", "wb_secret", transport=httpx.MockTransport(refuse))
    with client, pytest.raises(PushError) as err:
        client.push([obs()])
    assert err.value.retryable
    assert "wb_secret" not in str(err.value)


def test_read_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("wb_abc\n")
    assert read_token(token) == "wb_abc"
    token.write_text("  \n")
    with pytest.raises(WeibaoError, match="empty"):
        read_token(token)
    with pytest.raises(WeibaoError, match="cannot read"):
        read_token(tmp_path / "missing")
