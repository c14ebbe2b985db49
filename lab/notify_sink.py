"""Where the lab desk's notices land: a webhook receiver on loopback writing a log file.

``make run`` points a ``type: webhook`` channel of the lab's inventory at it (see
:mod:`lab.inventory`), so an escalation in the demo reaches someone you can see:
``var/notifications.log``, one block per notice (time, kind, title, who is named, text).
It takes what the desk's ``webhook`` format posts (the notice as JSON) and answers 204;
anything else is logged as it came and answered 400.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 1 << 20


def format_notice(notice: dict[str, Any], received: datetime) -> str:
    """One notice as a few readable lines, ending with a blank one."""
    names = [r.get("name", "?") for r in notice.get("recipients") or [] if isinstance(r, dict)]
    lines = [f"{received:%Y-%m-%d %H:%M:%S}Z  {notice.get('kind', '?')}  {notice.get('title', '')}"]
    if names:
        lines.append(f"  to: {', '.join(names)}")
    lines += [f"  {line}" for line in str(notice.get("body", "")).splitlines()]
    return "\n".join(lines) + "\n\n"


class NotifySink:
    """A webhook receiver in a thread of its own; ``url`` once started."""

    def __init__(self, log_file: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.log_file = log_file
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, MAX_BODY))
                try:
                    notice = json.loads(body)
                    if not isinstance(notice, dict):
                        raise ValueError("not an object")
                except ValueError:
                    sink.write(f"(not a notice) {body[:2000].decode(errors='replace')}\n\n")
                    self.send_response(400)
                else:
                    sink.write(format_notice(notice, datetime.now(UTC)))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the log file is the record; the lab's output stays quiet

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="weibao-lab-sink", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/notices"

    def write(self, text: str) -> None:
        with self._lock:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with self.log_file.open("a", encoding="utf-8") as out:
                out.write(text)

    def start(self) -> str:
        self._thread.start()
        return self.url

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
