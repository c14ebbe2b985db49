"""``weibao lab start|status|fault`` as make run uses them: a real process, stopped by
SIGTERM, faults switched from another process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import FLEET
from lab.fleet import load_fleet
from lab.mibs import interface_indexes
from tests.lab.conftest import lab_environ
from tests.peers import require_peer

pytestmark = pytest.mark.integration

WEIBAO = [sys.executable, "-m", "weibao.cli.main"]
FREE_PORTS = ["--host", "127.0.0.1", "--snmp-port", "0", "--ssh-port", "0"]


def weibao(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WEIBAO, *args], capture_output=True, text=True, timeout=60, env=env or os.environ.copy()
    )


@pytest.fixture
def lab_env() -> dict[str, str]:
    return {**os.environ, **lab_environ()}


@pytest.fixture
def lab_process(
    tmp_path: Path, lab_env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    state = tmp_path / "lab"
    proc = subprocess.Popen(
        [*WEIBAO, "lab", "start", "--state-dir", str(state), *FREE_PORTS],
        env=lab_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (state / "lab.json").exists():
            if proc.poll() is not None:
                pytest.fail(f"the lab exited: {proc.stdout.read() if proc.stdout else ''}")
            if time.monotonic() > deadline:
                pytest.fail("the lab did not write lab.json within 30 s")
            time.sleep(0.05)
        yield proc, state
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def snmp_get(port: int, oid: str, home: Path) -> str:
    snmpget = require_peer("snmpget", "net-snmp's snmpget checks what the lab serves")
    community = lab_environ()["WEIBAO_HT_SNMP_COMMUNITY"]
    done = subprocess.run(
        [snmpget, "-v2c", "-c", community, "-On", "-Oqv", "-r0", "-t1", f"127.0.0.1:{port}", oid],
        capture_output=True,
        text=True,
        timeout=10,
        env={"MIBS": "", "HOME": str(home), "SNMP_PERSISTENT_DIR": str(home)},
    )
    return done.stdout.strip()


def test_start_status_fault_and_a_clean_stop(
    lab_process: tuple[subprocess.Popen[str], Path], lab_env: dict[str, str]
) -> None:
    proc, state = lab_process
    running = json.loads((state / "lab.json").read_text())
    assert running["pid"] == proc.pid
    ports = {(e["device"], e["protocol"]): e["port"] for e in running["endpoints"]}
    assert len(ports) == 12

    status = weibao("lab", "status", "--state-dir", str(state), env=lab_env)
    assert status.returncode == 0, status.stderr
    assert f"the lab runs (pid {proc.pid}" in status.stdout
    assert f"127.0.0.1:{ports[('ht-acc-sw-1', 'snmp')]}" in status.stdout

    index = interface_indexes(load_fleet(FLEET).devices["ht-acc-sw-1"])["GigabitEthernet1/0/25"]
    oper = f"1.3.6.1.2.1.2.2.1.8.{index}"
    assert snmp_get(ports[("ht-acc-sw-1", "snmp")], oper, state) == "1"
    on = weibao("lab", "fault", "port-down", "on", "--state-dir", str(state), env=lab_env)
    assert on.returncode == 0, on.stderr
    assert "port-down is now on" in on.stdout
    assert "a level II ticket for ht-acc-sw-1 (interface_down)" in on.stdout
    assert "once it has lasted 1 min" in on.stdout
    deadline = time.monotonic() + 10  # the lab polls faults.json twice a second
    while snmp_get(ports[("ht-acc-sw-1", "snmp")], oper, state) != "2":
        assert time.monotonic() < deadline, "the running lab did not apply the fault"
        time.sleep(0.1)
    status = weibao("lab", "status", "--state-dir", str(state), env=lab_env)
    assert "port-down" in status.stdout and "on since" in status.stdout

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    output = proc.stdout.read() if proc.stdout else ""
    assert "lab.started devices=12" in output and "lab.stopped" in output
    assert not (state / "lab.json").exists()
    for value in lab_environ().values():
        assert value not in output, "the lab logs no credential"


def test_an_unknown_fault_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    done = weibao("lab", "fault", "ups-on-batery", "on", "--state-dir", str(tmp_path))
    assert done.returncode == 2
    assert "no fault named 'ups-on-batery'" in done.stderr
    assert "did you mean ups-on-battery" in done.stderr
    assert not (tmp_path / "faults.json").exists()


def test_start_without_the_lab_credentials_names_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIBAO_")}
    done = weibao("lab", "start", "--state-dir", str(tmp_path), *FREE_PORTS, env=env)
    assert done.returncode == 2
    assert "env:WEIBAO_HT_SNMP_AUTH" in done.stderr and "lab/lab.env" in done.stderr
