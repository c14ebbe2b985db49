"""A real HTTP server on 127.0.0.1 that records webhook requests and answers from a script.

Stands in for the WeCom/DingTalk/Feishu/Slack endpoints, which cannot run here: the
requests our senders make are real HTTP over a real socket, only the far end is ours.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HANG = -1  # an answer status: hold the request until the server stops (or 10 s)


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HookServer:
    """Records every POST; answers queued answers in order, then ``default``."""

    def __init__(self, default: tuple[int, bytes] = (200, b'{"errcode":0,"errmsg":"ok"}')) -> None:
        self.requests: list[Recorded] = []
        self.default = default
        self._answers: deque[tuple[int, bytes]] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int, body: bytes | dict[str, Any] = b"") -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        with self._lock:
            self._answers.append((status, data))

    def __enter__(self) -> HookServer:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _next(self, recorded: Recorded) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(recorded)
            return self._answers.popleft() if self._answers else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorded = Recorded(parts.path, dict(parse_qsl(parts.query)), headers, body)
                status, answer = server._next(recorded)
                if status == HANG:
                    server._release.wait(10)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads self.requests, not stderr

        return Handler
