"""A real Prometheus, started here on loopback, scrapes a desk's device series with a token
from a ``credentials_file``: its query API returns the device's value with the desk's
labels and the observation's own time, a customer token's job sees only that customer's
devices, and ``promtool`` accepts both the scraped text and the documented config. The
queries behind a scrape give the same answer on a real PostgreSQL."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

import rules
from desk.device_metrics import PATH
from desk.model import Role
from desk.server import DeskServer, build_desk
from desk.storage import Store
from desk.storage.latest import LatestReads
from desk.tokens import issue_token
from tests.integration.test_postgres_store import postgres_url  # noqa: F401  (the cluster)
from tests.peers import require_peer
from weibao.clock import SystemClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation

pytestmark = pytest.mark.integration
DEADLINE = 45.0  # each wait; the whole test stays well inside pytest's 120 s
DOC = Path(__file__).resolve().parents[2] / "docs" / "prometheus.md"
T = TypeVar("T")


def _customer(name: str, site: str, device: str) -> dict[str, Any]:
    contract = {
        "id": f"C-{device}",
        "name": "servers",
        "start": "2026-01-01",
        "end": "2099-12-31",
        "service_manager": {"name": "Wang Li"},
        "sites": [{"name": site, "hq": True, "devices": [{"name": device, "kind": "switch"}]}],
    }
    return {"name": name, "contracts": [contract]}


INVENTORY: dict[str, Any] = {
    "customers": [
        _customer("恒通物流", "上海总部", "lab-sw"),
        _customer("Beta Hospital", "Beta Main", "beta-sw"),
    ]
}

PROMETHEUS = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: weibao-devices
    metrics_path: {path}
    authorization:
      credentials_file: {staff}
    static_configs:
      - targets: ["{desk}"]
  - job_name: customer
    metrics_path: {path}
    authorization:
      credentials_file: {customer}
    static_configs:
      - targets: ["{desk}"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    url: str
    agent: str
    engineer: str
    customer: str


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A desk on a free loopback port with the device series mounted, and its tokens."""
    inventory = Inventory.model_validate(INVENTORY)
    clock = SystemClock()
    desk = build_desk(f"sqlite:///{tmp_path / 'desk.db'}", inventory, rules.load_engine(), clock)
    now = datetime.now(UTC)
    tokens = [
        issue_token(desk.store, role, customer, "prometheus", now).token
        for role, customer in (
            (Role.agent, None),
            (Role.engineer, None),
            (Role.customer, "恒通物流"),
        )
    ]
    server = DeskServer(desk.app, "127.0.0.1", 0)
    try:
        yield Lab(server.start(), *tokens)
    finally:
        server.stop()
        desk.store.close()


def secret_file(path: Path, token: str) -> Path:
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_for(
    what: str, probe: Callable[[], T | None], proc: subprocess.Popen[bytes], log: Path
) -> T:
    """Poll ``probe`` until it returns something, Prometheus dies, or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while True:
        assert proc.poll() is None, f"prometheus exited:\n{log.read_text()}"
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {DEADLINE:g} s did not happen\n{log.read_text()}")
        time.sleep(0.2)  # poll interval, bounded by the deadline above


def query(base: str, promql: str) -> list[dict[str, Any]]:
    try:
        answer = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    except httpx.TransportError:
        return []  # not listening yet
    if answer.status_code != 200:
        return []
    return list(answer.json()["data"]["result"])


def push(lab: Lab, device: str, at: datetime, samples: list[dict[str, Any]]) -> None:
    body = {"device": device, "source": "agent", "time": at.isoformat(), "samples": samples}
    answer = httpx.post(
        f"{lab.url}/api/v1/observations",
        json=body,
        headers={"Authorization": f"Bearer {lab.agent}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_a_real_prometheus_scrapes_the_device_series(tmp_path: Path, lab: Lab) -> None:
    prometheus = require_peer("/usr/bin/prometheus", "scrapes the desk (Debian: prometheus)")
    measured = datetime.now(UTC).replace(microsecond=250_000) - timedelta(seconds=2)
    bits = {"name": "interface_bits_rate", "labels": {"interface": "Gi0/1", "direction": "in"}}
    push(lab, "lab-sw", measured, [{"name": "up", "value": 1}, {**bits, "value": 12345.5}])
    push(lab, "beta-sw", measured, [{"name": "up", "value": 1}])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        PROMETHEUS.format(
            path=PATH,
            desk=lab.url.removeprefix("http://"),
            staff=secret_file(tmp_path / "staff.token", lab.engineer),
            customer=secret_file(tmp_path / "customer.token", lab.customer),
        )
    )
    log = tmp_path / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        promql = 'weibao_interface_bits_rate{job="weibao-devices", device="lab-sw"}'
        found = wait_for(
            "the device's value in Prometheus", lambda: query(base, promql) or None, proc, log
        )
        assert len(found) == 1
        labels, (_, value) = found[0]["metric"], found[0]["value"]
        assert value == "12345.5"
        assert labels == {
            "__name__": "weibao_interface_bits_rate",
            "job": "weibao-devices",
            "instance": lab.url.removeprefix("http://"),
            "customer": "恒通物流",
            "site": "上海总部",
            "device": "lab-sw",
            "source": "agent",
            "interface": "Gi0/1",
            "direction": "in",
        }
        # Filed at the observation's time, not the scrape's.
        stamp = query(base, f"timestamp({promql})")
        assert float(stamp[0]["value"][1]) == pytest.approx(measured.timestamp(), abs=0.001)

        for job in ("weibao-devices", "customer"):
            scraped = wait_for(f"{job} up", partial(_up, base, job), proc, log)
            assert scraped == "1", f"{job}: the scrape failed\n{log.read_text()}"
        device_up = query(base, 'weibao_device_up{job="weibao-devices"}')
        assert {r["metric"]["device"]: r["value"][1] for r in device_up} == {
            "lab-sw": "1",
            "beta-sw": "1",
        }
        own = query(base, '{job="customer", __name__=~"weibao_.+"}')
        assert own and {r["metric"]["device"] for r in own} == {"lab-sw"}
        assert {r["metric"]["customer"] for r in own} == {"恒通物流"}
    finally:
        stop(proc)


def _up(base: str, job: str) -> str | None:
    found = query(base, f'up{{job="{job}"}}')
    return str(found[0]["value"][1]) if found else None


def test_the_scraped_text_passes_promtool(lab: Lab) -> None:
    promtool = require_peer("promtool", "checks the exposition (Debian: prometheus)")
    at = datetime.now(UTC) - timedelta(seconds=5)
    push(
        lab,
        "lab-sw",
        at,
        [
            {"name": "up", "value": 1},
            {"name": "cpu_usage_ratio", "value": 0.25},
            {"name": "interface_up", "labels": {"interface": 'Gi0/1 "uplink"\\x'}, "value": 1},
            {"name": "log_error_lines", "labels": {"source": "kernel", "text": "a\nb"}, "value": 2},
        ],
    )
    answer = httpx.get(
        f"{lab.url}{PATH}", headers={"Authorization": f"Bearer {lab.engineer}"}, timeout=10
    )
    assert answer.status_code == 200 and "weibao_cpu_usage_ratio{" in answer.text
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=answer.text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_the_documented_scrape_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require_peer("promtool", "checks Prometheus configuration (Debian: prometheus)")
    block = next(
        b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S) if "scrape_configs:" in b
    )
    assert "credentials_file: /etc/prometheus/weibao.token" in block and PATH in block
    token = secret_file(tmp_path / "weibao.token", "wb_example")
    config = tmp_path / "prometheus.yml"
    config.write_text(block.replace("/etc/prometheus/weibao.token", str(token)))
    done = subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_newest_per_source_on_postgresql(postgres_url: str) -> None:  # noqa: F811
    store = Store(postgres_url)
    try:
        store.migrate()
        now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
        minute = timedelta(minutes=1)
        stored = [
            ("pg-a", "snmp", now - 3 * minute, 0.1),
            ("pg-a", "snmp", now - 1 * minute, 0.3),
            ("pg-a", "ssh", now - 2 * minute, 0.5),
            ("pg-a", "agent", now - 60 * minute, 0.9),  # too old for the window
            ("pg-a", "agent", now + 10 * minute, 0.7),  # a clock far ahead
            ("pg-b", "agent", now - 90 * minute, 0.2),  # nothing fresh
        ]
        with store.transaction() as tx:
            for device, source, at, value in stored:
                samples = [{"name": "cpu_usage_ratio", "value": value}]
                obs = Observation(device=device, source=source, time=at, samples=samples)
                tx.insert_observation(obs, True, now)
        reads = LatestReads(store)
        since = {"pg-a": now - 5 * minute, "pg-b": now - 5 * minute, "pg-c": now - 5 * minute}
        newest = reads.newest(since, now + 5 * minute)
        assert [(o.device, o.source, o.time, o.samples[0]["value"]) for o in newest] == [
            ("pg-a", "snmp", now - minute, 0.3),
            ("pg-a", "ssh", now - 2 * minute, 0.5),
        ]
        assert reads.last_seen(["pg-a", "pg-b", "pg-c"], now + 5 * minute) == {
            "pg-a": now - minute,
            "pg-b": now - 90 * minute,
        }
    finally:
        store.close()
