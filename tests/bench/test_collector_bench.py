"""Smoke test of the collector fleet benchmark (``bench/collector/run.py --quick``).

It runs every part of the benchmark on a tiny fleet (6 snmpd devices, concurrency 1 and
4, the local sshd) and checks that each part produced figures that add up: every device
polled by every client at every level, every request accounted for, the issue's targets
judged. Speed is never asserted here (bench/README.md: speed is measured, not tested).
snmp_exporter is not a test peer: its rows are checked only when it is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.peers import require_peer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "collector" / "run.py"
DEVICES = 6
LEVELS = (1, 4)


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    for peer in ("snmpd", "snmpget", "snmpbulkwalk"):
        require_peer(peer, "the benchmark's fleet and its CLI rival are net-snmp")
    for peer in ("/usr/sbin/sshd", "ssh", "ssh-keygen"):
        require_peer(peer, "the benchmark's SSH part runs against OpenSSH")
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--json", "--devices", str(DEVICES)],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def test_every_client_polls_every_device_at_every_level(figures: dict[str, Any]) -> None:
    clients = ["weibao", "net-snmp CLI"]
    exporter = shutil.which("prometheus-snmp-exporter") or shutil.which("snmp_exporter")
    if exporter and shutil.which("curl"):
        clients.append("snmp_exporter")
    rows = {(r["client"], r["concurrency"]): r for r in figures["snmp"]}
    for client in clients:
        for level in LEVELS:
            row = rows[(client, level)]
            assert row["devices"] == DEVICES
            assert row["failed"] == 0, row["reasons"]
            assert row["per_s"] > 0
            assert row["cpu_ms"] >= 0
            assert row["values"] > 100  # system, interfaces, storage, load: all read
    for level in LEVELS:
        assert rows[("weibao", level)]["cpu_ms"] > 0
        assert rows[("net-snmp CLI", level)]["cpu_ms"] > 0


def test_requests_in_flight_are_all_accounted_for(figures: dict[str, Any]) -> None:
    burst = figures["inflight"][0]
    other = sum(burst["other"].values())
    assert burst["sent"] == burst["answered"] + burst["timed_out"] + other
    assert burst["answered"] == burst["sent"], burst


def test_ssh_part_compares_weibao_with_openssh(figures: dict[str, Any]) -> None:
    rows = {(r["client"], r["concurrency"]): r for r in figures["ssh"]}
    for client in ("weibao", "OpenSSH"):
        for level in LEVELS:
            row = rows[(client, level)]
            assert row["failed"] == 0, row["reasons"]
            assert row["commands"] == 10  # the full Linux profile, on both sides
            assert row["cpu_ms"] > 0


def test_targets_and_machine_are_reported(figures: dict[str, Any]) -> None:
    names = " ".join(t["target"] for t in figures["targets"])
    for word in ("no failed polls", "net-snmp CLI", "snmp_exporter", "in flight", "SSH"):
        assert word in names
    assert all(t["pass"] in (True, False, None) and t["detail"] for t in figures["targets"])
    for key in ("cpu", "kernel", "python", "pysnmp", "net-snmp", "snmp_exporter", "openssh"):
        assert figures["machine"][key]
    assert figures["fleet"]["plan"]["scalars"]
