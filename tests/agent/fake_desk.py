"""A stand-in desk for delivery tests, run as its own process so "stop the desk" can be a
real kill: ``python fake_desk.py STORE PORT TOKEN [--die-after-storing N]``.

It follows the desk's contract for ``POST /api/v1/observations`` (a JSON list, or one
object; answers ``{"accepted": n, "duplicates": m}``; 401 without the right bearer
token; 422 for a body that is not observations) and keeps what it stored in STORE, one
JSON line per observation, so a restarted desk remembers, as a database would. Ids seen
again are appended to STORE.dups. ``--die-after-storing N`` makes the process exit right
after storing its N-th batch, before answering: the answer is lost on the way back.
It prints ``listening PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.dups = path.with_name(path.name + ".dups")
        self.lock = threading.Lock()
        self.ids: set[str] = set()
        if path.exists():
            self.ids = {json.loads(line)["id"] for line in path.read_text().splitlines() if line}
        self.batches = 0

    def add(self, batch: list[dict[str, object]]) -> tuple[int, int]:
        with self.lock:
            fresh = [o for o in batch if o["id"] not in self.ids]
            again = [o for o in batch if o["id"] in self.ids]
            for name, items in ((self.path, fresh), (self.dups, again)):
                with open(name, "a", encoding="utf-8") as handle:
                    for item in items:
                        handle.write(json.dumps(item) + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            self.ids.update(str(o["id"]) for o in fresh)
            self.batches += 1
            return len(fresh), len(again)


def make_handler(store: Store, token: str, die_after: int | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real desk behind uvicorn

        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(200, {"status": "ok"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._answer(401, {"detail": "unknown token"})
                return
            try:
                data = json.loads(body)
                batch = data if isinstance(data, list) else [data]
                if not all(isinstance(o, dict) and "id" in o for o in batch):
                    raise ValueError("every observation needs an id")
            except ValueError as exc:
                self._answer(422, {"detail": str(exc)})
                return
            accepted, duplicates = store.add(batch)
            if die_after is not None and store.batches >= die_after:
                os._exit(1)  # stored, never answered
            self._answer(200, {"accepted": accepted, "duplicates": duplicates})

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("token")
    parser.add_argument("--die-after-storing", type=int)
    args = parser.parse_args()
    store = Store(args.store)
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(store, args.token, args.die_after_storing)
    )
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
