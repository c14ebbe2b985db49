"""The desk over real HTTP: in a thread (DeskServer) and as the `weibao serve` process.
Servers bind port 0 and are polled until ready; every wait is bounded."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
import yaml

from desk.model import Role
from desk.server import DeskServer, ListenError, build_desk, parse_listen
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .conftest import INVENTORY, START


def test_a_desk_in_a_thread_takes_observations_over_http(
    db_url: str, inventory: Inventory, engine: Engine, clock: FrozenClock
) -> None:
    desk = build_desk(db_url, inventory, engine, clock)
    agent = issue_token(desk.store, Role.agent, None, None, START).token
    announced: list[str] = []
    try:
        with DeskServer(desk.app, "127.0.0.1", 0, on_ready=announced.append) as server:
            assert announced == [server.url] and not server.url.endswith(":0")
            body = [
                {
                    "device": "acme-db",
                    "source": "agent",
                    "time": START.isoformat(),
                    "samples": [{"name": "up", "value": 0}],
                }
            ]
            answer = httpx.post(
                f"{server.url}/api/v1/observations",
                json=body,
                headers={"Authorization": f"Bearer {agent}"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["tickets_opened"] == ["WB-2026-000001"]
    finally:
        desk.store.close()


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ListenError, match="--listen"):
            DeskServer(None, "127.0.0.1", port)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:0", ("::1", 0)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_listen_addresses(text: str, parsed: tuple[str, int]) -> None:
    assert parse_listen(text) == parsed


@pytest.mark.parametrize("text", ["8080", "localhost", "host:http", "h:70000", ":80"])
def test_bad_listen_addresses_show_an_example(text: str) -> None:
    with pytest.raises(ListenError, match=r"127\.0\.0\.1:8080"):
        parse_listen(text)


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(INVENTORY), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "weibao.cli.main", "serve", "--listen", "127.0.0.1:0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "WEIBAO_DB": ""},
    )
    out: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    try:
        yield proc, out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_weibao_serve_prints_its_url_when_ready(
    serve_process: tuple[subprocess.Popen[str], queue.Queue[str]], tmp_path: Path
) -> None:
    proc, out = serve_process
    try:
        line = out.get(timeout=30)
    except queue.Empty:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"weibao serve printed no URL in 30 s:\n{err}")
    url = line.split()[4]
    assert line.startswith("weibao desk serving on http://127.0.0.1:")
    assert httpx.get(f"{url}/healthz", timeout=5).json()["status"] == "ok"
    assert httpx.get(f"{url}/api/v1/tickets", timeout=5).status_code == 401
    # The default database: var/weibao.db under the current directory.
    assert (tmp_path / "var" / "weibao.db").exists()
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    # uvicorn re-raises the SIGTERM it handled, so systemd sees a clean stop by signal.
    assert proc.returncode in (0, -15), err
    assert out.empty()  # one line on stdout, the rest is the log on stderr
    assert "desk.starting" in err and "Traceback" not in err
    assert "database.migrated" in err and "***" not in err
    # Routine requests are summed up (at stop, here), not logged one by one.
    assert "http.request" not in err
    assert "desk.activity" in err and "requests_2xx=1" in err and "requests_4xx=1" in err
    # The test inventory has no notification channel: one warning says so.
    warnings = [line for line in err.splitlines() if "notifications.no_channel" in line]
    assert len(warnings) == 1 and " WARNING " in warnings[0]


def test_no_warning_when_a_channel_is_configured(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from weibao.cli.serve import warn_without_channels

    with_channel = {
        **INVENTORY,
        "notifications": {"channels": [{"name": "ops", "type": "webhook", "url": "env:HOOK"}]},
    }
    log = logging.getLogger("weibao.test.serve")
    caplog.set_level(logging.INFO, logger=log.name)
    warn_without_channels(Inventory.model_validate(INVENTORY), log)
    warn_without_channels(Inventory.model_validate(with_channel), log)
    assert [r.getMessage() for r in caplog.records] == ["notifications.no_channel"]


def test_weibao_serve_refuses_a_broken_inventory_before_starting(tmp_path: Path) -> None:
    broken = yaml.safe_dump(INVENTORY).replace("kind: server", "kind: sever", 1)
    (tmp_path / "inventory.yaml").write_text(broken, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "weibao.cli.main", "serve", "--listen", "127.0.0.1:0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "WEIBAO_DB": ""},
    )
    assert done.returncode == 2, done.stderr
    assert "inventory.yaml:" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == "" and not (tmp_path / "var").exists()
