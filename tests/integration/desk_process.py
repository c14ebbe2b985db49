"""`weibao serve` as a real process for end-to-end tests: started on a free loopback
port, waited for until /healthz answers, always stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

WEIBAO = [sys.executable, "-m", "weibao.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_desk(
    cwd: Path, db: str, log: Path, env: Mapping[str, str] | None = None, timeout: float = 30
) -> Iterator[str]:
    """``weibao serve -i inventory.yaml`` in ``cwd``; yields its URL, output in ``log``."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*WEIBAO, "serve", "-i", "inventory.yaml", "--db", db, "--listen", f"127.0.0.1:{port}"],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, f"desk exited early:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"desk not ready in {timeout} s:\n{log.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
