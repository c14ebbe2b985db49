"""A real Prometheus and a real Alertmanager, started here on loopback, deliver an alert
to a desk: Prometheus scrapes a tiny exporter whose metric the test flips, its rule
fires at once (``for: 0s``), Alertmanager posts to ``/api/v1/alertmanager`` with an
agent token read from a ``credentials_file``. The ticket opens on the device whose
address is the exporter's ``instance`` (port stripped) with the level of the alert's
``severity``; when the metric goes back, the resolved alert records the recovery."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

import rules
from desk.model import Role
from desk.server import DeskServer, build_desk
from desk.tokens import issue_token
from tests.peers import require_peer
from weibao.clock import SystemClock
from weibao.inventory.model import Inventory

pytestmark = pytest.mark.integration
DEADLINE = 45.0  # each wait; the whole test stays well inside pytest's 120 s
T = TypeVar("T")

INVENTORY: dict[str, Any] = {
    "customers": [
        {
            "name": "Lab",
            "contracts": [
                {
                    "id": "LAB-2026",
                    "name": "Lab servers",
                    "start": "2026-01-01",
                    "end": "2099-12-31",
                    "service_manager": {"name": "Wang Li"},
                    "sites": [
                        {
                            "name": "Lab HQ",
                            "hq": True,
                            "devices": [
                                {"name": "lab-app", "kind": "server", "address": "127.0.0.1"}
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}

PROMETHEUS = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{alertmanager}"]
scrape_configs:
  - job_name: lab
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
"""

RULES = """\
groups:
  - name: lab
    rules:
      - alert: LabServiceFailed
        expr: lab_service_failed > 0
        for: 0s
        labels:
          severity: major
        annotations:
          summary: "lab service failed on {{ $labels.instance }}"
          description: "lab_service_failed is {{ $value }}"
"""

ALERTMANAGER = """\
route:
  receiver: weibao
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: weibao
    webhook_configs:
      - url: {url}/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials_file: {credentials}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Exporter:
    """``lab_service_failed <value>`` on /metrics, the value set by the test."""

    def __init__(self) -> None:
        self.value = 1
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = f"# TYPE lab_service_failed gauge\nlab_service_failed {exporter.value}\n"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per scrape would drown the test's output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Exporter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]],
) -> T:
    """Poll ``probe`` until it returns something, a peer dies, or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while True:
        for name, (proc, log) in procs.items():
            assert proc.poll() is None, f"{name} exited:\n{log.read_text()}"
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n}\n{log.read_text()}" for n, (_, log) in procs.items())
            pytest.fail(f"{what} within {DEADLINE:g} s did not happen\n{logs}")
        time.sleep(0.2)  # poll interval, bounded by the deadline above


@pytest.fixture
def desk_url_and_tokens(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A desk on a free loopback port; yields its URL, an agent and a manager token."""
    inventory = Inventory.model_validate(INVENTORY)
    engine = rules.load_engine()
    desk = build_desk(f"sqlite:///{tmp_path / 'desk.db'}", inventory, engine, SystemClock())
    now = datetime.now(UTC)
    agent = issue_token(desk.store, Role.agent, None, "alertmanager", now).token
    manager = issue_token(desk.store, Role.manager, None, None, now).token
    server = DeskServer(desk.app, "127.0.0.1", 0)
    try:
        url = server.start()
        yield url, agent, manager
    finally:
        server.stop()
        desk.store.close()


def test_the_documented_receiver_passes_amtool(tmp_path: Path) -> None:
    amtool = require_peer(
        "amtool", "checks Alertmanager configuration (Debian: prometheus-alertmanager)"
    )
    doc = Path(__file__).resolve().parents[2] / "docs" / "alertmanager.md"
    receiver = next(
        block
        for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)
        if "webhook_configs:" in block
    )
    assert "credentials_file:" in receiver and "/api/v1/alertmanager" in receiver
    (tmp_path / "alertmanager.yml").write_text(receiver)
    done = subprocess.run(
        [amtool, "check-config", str(tmp_path / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_alertmanager_opens_a_ticket_and_records_the_recovery(
    tmp_path: Path,
    desk_url_and_tokens: tuple[str, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    prometheus = require_peer(
        "/usr/bin/prometheus", "evaluates the alert rule (Debian: prometheus)"
    )
    alertmanager = require_peer(
        "/usr/bin/prometheus-alertmanager",
        "posts the alert to the desk (Debian: prometheus-alertmanager)",
    )
    caplog.set_level(logging.INFO)
    desk_url, agent_token, manager_token = desk_url_and_tokens
    credentials = tmp_path / "weibao.token"
    credentials.write_text(agent_token + "\n")
    credentials.chmod(0o600)
    am_port, prom_port = free_port(), free_port()
    manager = {"Authorization": f"Bearer {manager_token}"}

    with Exporter() as exporter:
        (tmp_path / "rules.yml").write_text(RULES)
        (tmp_path / "prometheus.yml").write_text(
            PROMETHEUS.format(
                rules=tmp_path / "rules.yml", alertmanager=am_port, exporter=exporter.port
            )
        )
        (tmp_path / "alertmanager.yml").write_text(
            ALERTMANAGER.format(url=desk_url, credentials=credentials)
        )
        procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        try:
            am_log = tmp_path / "alertmanager.log"
            procs["alertmanager"] = (
                start(
                    [
                        alertmanager,
                        f"--config.file={tmp_path / 'alertmanager.yml'}",
                        f"--storage.path={tmp_path / 'am-data'}",
                        f"--web.listen-address=127.0.0.1:{am_port}",
                        "--cluster.listen-address=",  # no gossip: a single, private instance
                    ],
                    am_log,
                ),
                am_log,
            )
            prom_log = tmp_path / "prometheus.log"
            procs["prometheus"] = (
                start(
                    [
                        prometheus,
                        f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                    ],
                    prom_log,
                ),
                prom_log,
            )

            def the_ticket() -> dict[str, Any] | None:
                answer = httpx.get(f"{desk_url}/api/v1/tickets", headers=manager, timeout=5)
                assert answer.status_code == 200, answer.text
                items: list[dict[str, Any]] = answer.json()["items"]
                assert len(items) <= 1, items  # one alert, one ticket
                return items[0] if items else None

            ticket = wait_for("a ticket from Alertmanager", the_ticket, procs)
            assert ticket["device"] == "lab-app"
            assert ticket["level"] == "II"  # severity: major
            assert ticket["rule"] == "alertmanager:LabServiceFailed"
            assert ticket["title"] == f"lab service failed on 127.0.0.1:{exporter.port}"
            assert ticket["labels"]["instance"] == f"127.0.0.1:{exporter.port}"
            assert ticket["fingerprint"].startswith("alertmanager:lab-app:LabServiceFailed:")
            assert ticket["recovered_at"] is None

            exporter.value = 0  # the service is back

            def recovered() -> dict[str, Any] | None:
                current = the_ticket()
                return current if current and current["recovered_at"] else None

            after = wait_for("the recovery on the ticket", recovered, procs)
            assert after["number"] == ticket["number"] and after["status"] == "open"
            full = httpx.get(
                f"{desk_url}/api/v1/tickets/{ticket['number']}", headers=manager, timeout=5
            ).json()
            assert "recovered" in [e["kind"] for e in full["events"]]
        finally:
            for proc, _ in procs.values():
                stop(proc)

    assert agent_token not in caplog.text
    assert any(r.msg == "alertmanager.received" for r in caplog.records)
