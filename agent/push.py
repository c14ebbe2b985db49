"""Push observations to the desk over HTTP.

The transport is injectable (httpx's ``transport=``) so tests can drive the client
without sockets, and errors are translated here, at the edge, into :class:`PushError`
with a sentence the ops engineer can act on. The token is sent, never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from weibao.errors import WeibaoError
from weibao.observation import Observation

PUSH_PATH = "/api/v1/observations"


class PushError(WeibaoError):
    """The desk did not take the batch; ``retryable`` says whether to spool and retry."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class PushResult:
    accepted: int
    duplicates: int


def read_token(path: Path) -> str:
    """Read a bearer token from a file, refusing an empty one with a clear message."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise WeibaoError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise WeibaoError(f"the token file {path} is empty: create one with `weibao token create`")
    return token


class PushClient:
    """A keep-alive client for one desk. Use as a context manager, or call close()."""

    def __init__(
        self,
        desk_url: str,
        token: str,
        *,
        verify: bool | str = True,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = desk_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self._url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "weibao-agent"},
            verify=verify,
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> PushClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def push(self, observations: Sequence[Observation]) -> PushResult:
        """Send a batch; raise PushError (retryable or not) when the desk does not take it."""
        body = [obs.model_dump(mode="json") for obs in observations]
        try:
            response = self._client.post(PUSH_PATH, json=body)
        except httpx.TimeoutException:
            raise PushError(f"the desk at {self._url} did not answer in time", True) from None
        except httpx.TransportError as exc:
            raise PushError(f"cannot reach the desk at {self._url}: {exc}", True) from None
        return _read_answer(response, self._url)


def _read_answer(response: httpx.Response, url: str) -> PushResult:
    status = response.status_code
    if status == 401:
        raise PushError(f"the desk at {url} refused the token: check the token file", False)
    if status == 403:
        raise PushError(f"the token may not push observations to {url}: use role agent", False)
    if status == 422:
        raise PushError(f"the desk at {url} rejected the batch as invalid: {response.text}", False)
    if status >= 500 or status in (408, 429):
        raise PushError(f"the desk at {url} is unavailable (HTTP {status})", True)
    if status >= 400:
        raise PushError(f"the desk at {url} answered HTTP {status}: {response.text}", False)
    data = response.json()
    return PushResult(accepted=int(data["accepted"]), duplicates=int(data.get("duplicates", 0)))
