"""The agent's /metrics as Prometheus sees it: `promtool check metrics` passes, and a real
Prometheus, started here on loopback with its data in a temporary directory, scrapes a
real `weibao agent` process with ``up == 1``."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest

from agent.metrics import make_registry
from agent.stats import AgentStats
from tests.agent.conftest import healthy_commands, make_host
from tests.peers import require_peer
from weibao.delivery.spool import Spool
from weibao.observation import Observation, Sample

pytestmark = pytest.mark.integration
WEIBAO = [sys.executable, "-m", "weibao.cli.main"]
DEADLINE = 60.0


def promtool_check(promtool: str, text: str) -> None:
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_fixture_machine_metrics_pass_promtool(tmp_path: Path) -> None:
    promtool = require_peer("promtool", "checks the /metrics exposition (Debian: prometheus)")
    spool = Spool(tmp_path / "spool")
    spool.put(
        [
            Observation(
                device="d",
                source="agent",
                time=datetime(2026, 11, 21, tzinfo=UTC),
                samples=[Sample(name="up", value=1)],
            )
        ]
    )
    stats = AgentStats(spool=spool, inspections=1, last_push_success=1.8e9)
    host = make_host(tmp_path, commands=healthy_commands())
    host.snapshot(smart="now")  # so the SMART families are there too
    registry = make_registry(lambda: host.snapshot(smart="cached"), stats)
    text = generate_latest(registry).decode()
    assert "weibao_node_smart_ok" in text and "weibao_agent_spool_bytes" in text
    promtool_check(promtool, text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture
def agent_url(tmp_path: Path) -> Iterator[str]:
    """A `weibao agent` serving /metrics only, on a port it chose; its log tells which."""
    proc = subprocess.Popen(
        [*WEIBAO, "agent", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + DEADLINE
        address = None
        while address is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the agent did not say where it listens"
            assert proc.poll() is None, "the agent exited early"
            ready, _, _ = select.select([proc.stderr], [], [], remaining)
            line = proc.stderr.readline() if ready else ""
            found = re.search(r"agent\.listening address=(\S+)", line)
            address = found.group(1) if found else None
        yield f"http://{address}"
    finally:
        stop_process(proc)


def test_live_agent_metrics_pass_promtool(agent_url: str) -> None:
    promtool = require_peer("promtool", "checks the /metrics exposition (Debian: prometheus)")
    answer = httpx.get(f"{agent_url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert "weibao_agent_info" in answer.text
    promtool_check(promtool, answer.text)


PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: weibao-agent
    static_configs:
      - targets: ["{target}"]
"""


def query(base: str, promql: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    answer.raise_for_status()
    return list(answer.json()["data"]["result"])


def test_a_real_prometheus_scrapes_the_agent(tmp_path: Path, agent_url: str) -> None:
    prometheus = require_peer("prometheus", "scrapes the agent (Debian: prometheus)")
    config = tmp_path / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.format(target=agent_url.removeprefix("http://")))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "prometheus.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + DEADLINE
        up: list[dict[str, object]] = []
        while True:
            assert proc.poll() is None, f"prometheus exited:\n{log.read_text()}"
            try:
                up = query(base, 'up{job="weibao-agent"}')
            except httpx.HTTPError:
                up = []
            if up and up[0]["value"][1] == "1":  # type: ignore[index]
                break
            assert time.monotonic() < deadline, (
                f"no up == 1 within {DEADLINE:g} s: {json.dumps(up)}\n{log.read_text()}"
            )
            time.sleep(0.2)  # poll interval, bounded by the deadline above
        cpus = query(base, 'weibao_node_cpus{job="weibao-agent"}')
        assert cpus and float(cpus[0]["value"][1]) >= 1  # type: ignore[index]
    finally:
        stop_process(proc)
