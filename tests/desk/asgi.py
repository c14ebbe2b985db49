"""A synchronous test client over httpx's ASGITransport: no sockets, no threads of our
own (starlette's TestClient wants the httpx2 package, which we do not ship)."""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial
from types import TracebackType
from typing import Any

import httpx
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI


class AsgiClient:
    """``client.get(path, headers=..., params=...)`` returning an ``httpx.Response``."""

    def __init__(self, app: FastAPI) -> None:
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal())
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://desk.test"
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._stack.close()

    def __enter__(self) -> AsgiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
