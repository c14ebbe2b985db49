"""Push observations to the desk over HTTP.

The transport is injectable (httpx's ``transport=``) so tests can drive the client
without sockets, and errors are translated here, at the edge, into :class:`PushError`
with a sentence the ops engineer can act on. The token is sent, never logged.

What the agent does with a failure depends on whose fault it is (``PushError.kind``):

- ``retry``: the desk is away or busy (no answer, 408, 429, 5xx): keep the batch
  spooled and try again later;
- ``rejected``: the desk refused this batch as invalid (400, 413, 422): set it aside,
  or it would block every later batch forever;
- ``fatal``: the agent is misconfigured (401 wrong token, 403 wrong role, 404 not a
  desk at that URL): retrying cannot help, so the agent stops and says why.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from weibao.delivery.wire import WireObservation, to_wire
from weibao.errors import WeibaoError

if TYPE_CHECKING:
    from weibao.observation import Observation

PUSH_PATH = "/api/v1/observations"
MAX_PER_REQUEST = 500
"""Observations per request: half the desk's limit (docs/desk.md "API limits")."""
MAX_REQUEST_BYTES = 8 * 1024 * 1024
"""Body bytes per request, well under the desk's 64 MiB: a collector's round of thousands
of devices, or a backlog, goes as several requests instead of one the desk refuses."""


class Failure(StrEnum):
    retry = "retry"
    rejected = "rejected"
    fatal = "fatal"


class PushError(WeibaoError):
    """The desk did not take the batch; ``kind`` says what to do about it."""

    def __init__(self, message: str, kind: Failure) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def retryable(self) -> bool:
        return self.kind is Failure.retry


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


def tls_verification(ca_file: Path | None) -> ssl.SSLContext | bool:
    """Verification is always on; a private CA replaces the system's trust store."""
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise WeibaoError(f"cannot use the CA file {ca_file}: {reason}") from None


class PushClient:
    """A keep-alive client for one desk. Use as a context manager, or call close()."""

    def __init__(
        self,
        desk_url: str,
        token: str,
        *,
        verify: ssl.SSLContext | bool = True,
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

    @property
    def url(self) -> str:
        return self._url

    def __enter__(self) -> PushClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def push(self, observations: Sequence[Observation | WireObservation]) -> PushResult:
        """Send a batch, in as many requests as the desk's limits need; raise PushError
        when the desk does not take one of them.

        A failure part-way leaves the whole batch to be sent again: the desk stores each
        observation id once, so what it already took comes back as duplicates.
        """
        accepted = duplicates = 0
        for body in _bodies(observations):
            result = self._post(body)
            accepted += result.accepted
            duplicates += result.duplicates
        return PushResult(accepted=accepted, duplicates=duplicates)

    def _post(self, body: bytes) -> PushResult:
        try:
            response = self._client.post(
                PUSH_PATH, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException:
            raise PushError(
                f"the desk at {self._url} did not answer in time", Failure.retry
            ) from None
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise PushError(
                    f"the desk at {self._url} showed a certificate this agent does not trust: "
                    "for a private CA, pass its certificate with --ca-file",
                    Failure.retry,
                ) from None
            raise PushError(f"cannot reach the desk at {self._url}: {exc}", Failure.retry) from None
        except httpx.TransportError as exc:
            raise PushError(f"cannot reach the desk at {self._url}: {exc}", Failure.retry) from None
        return _read_answer(response, self._url)


def _bodies(observations: Sequence[Observation | WireObservation]) -> list[bytes]:
    """The JSON request bodies of a batch: at most MAX_PER_REQUEST observations and, but
    for a single observation larger than that, MAX_REQUEST_BYTES each."""
    try:
        encoded = [json.dumps(to_wire(obs), allow_nan=False).encode() for obs in observations]
    except ValueError:
        # NaN or ±Infinity: no desk can read it, so retrying would block the spool.
        raise PushError(
            "the batch holds a value that is NaN or ±Infinity, which JSON cannot carry",
            Failure.rejected,
        ) from None
    bodies: list[bytes] = []
    chunk: list[bytes] = []
    size = 2
    for item in encoded:
        if chunk and (len(chunk) >= MAX_PER_REQUEST or size + len(item) + 1 > MAX_REQUEST_BYTES):
            bodies.append(b"[" + b",".join(chunk) + b"]")
            chunk, size = [], 2
        chunk.append(item)
        size += len(item) + 1
    if chunk or not bodies:
        bodies.append(b"[" + b",".join(chunk) + b"]")
    return bodies


def _read_answer(response: httpx.Response, url: str) -> PushResult:
    status = response.status_code
    if status == 401:
        raise PushError(f"the desk at {url} refused the token: check the token file", Failure.fatal)
    if status == 403:
        raise PushError(
            f"the token may not push observations to {url}: create one with role agent",
            Failure.fatal,
        )
    if status in (404, 405):
        raise PushError(
            f"no weibao desk answers at {url} (HTTP {status} for {PUSH_PATH}): check --desk",
            Failure.fatal,
        )
    if status in (400, 413, 422):
        detail = response.text[:500]
        raise PushError(
            f"the desk at {url} rejected the batch as invalid (HTTP {status}): {detail}",
            Failure.rejected,
        )
    if status >= 500 or status in (408, 429):
        raise PushError(f"the desk at {url} is unavailable (HTTP {status})", Failure.retry)
    if status >= 400:
        raise PushError(
            f"the desk at {url} answered HTTP {status}: {response.text[:500]}", Failure.rejected
        )
    try:
        data = response.json()
        return PushResult(accepted=int(data["accepted"]), duplicates=int(data.get("duplicates", 0)))
    except (ValueError, KeyError, TypeError):
        # Something that is not the desk (a captive proxy, a login page) answered 200.
        raise PushError(
            f"the answer from {url} is not a desk's (HTTP {status}, no 'accepted' count)",
            Failure.retry,
        ) from None
