"""``weibao probe ssh`` as a process, against a real OpenSSH ``sshd`` on a loopback port.

The sshd harness (throwaway host and client keys in tmp, unprivileged, free port) is
``test_ssh_sshd``'s module-scoped fixture, reused here: this module gets its own sshd.
The command runs through a small Typer app holding just the probe, as in
``test_probe_snmpd``. References to what ``df -P`` and ``uname`` say on this machine
(sshd runs here) are the expected values.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.integration import test_ssh_sshd
from tests.integration.test_ssh_sshd import Sshd, df_capacity, free_tcp_port

pytestmark = pytest.mark.integration

sshd = test_ssh_sshd.sshd  # the fixture: one sshd for this module, stopped after it

ROOT = Path(__file__).resolve().parents[2]
APP = """
import typer
from weibao.cli import probe_cmd
app = typer.Typer()
probe_cmd.register(app)
app()
"""
PASSWORD = "pw-never-shown-5e1"


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", APP, "probe", "ssh", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "WB_PROBE_PW": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )


def target(server: Sshd, port: int | None = None) -> str:
    return f"{server.user}@127.0.0.1:{port or server.port}"


def test_probe_reports_identity_observations_and_a_snippet(sshd: Sshd) -> None:
    result = probe(target(sshd), "--key", str(sshd.key), "--host-key", sshd.fingerprint, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is True
    detected = body["detected"]
    assert detected["profile"] == "linux" and detected["host_key"] == sshd.fingerprint
    assert detected["hostname"] == platform.node()
    assert detected["kernel"] == f"{platform.system()} {platform.release()}"
    samples = body["observation"]["samples"]
    root = [s for s in samples if s["name"] == "filesystem_usage_ratio"]
    root = [s["value"] for s in root if s["labels"] == {"mountpoint": "/"}]
    assert len(root) == 1 and abs(root[0] * 100 - df_capacity("/")) <= 1.0
    assert any(s["name"] == "log_error_lines" for s in samples)  # a full inspection
    [device] = yaml.safe_load(body["inventory"])
    ssh = device["inspect"]["ssh"]
    assert device["kind"] == "server" and device["address"] == "127.0.0.1"
    assert ssh == {
        "user": sshd.user,
        "port": sshd.port,
        "key": f"file:{sshd.key}",
        "host_key": sshd.fingerprint,
    }

    table = probe(target(sshd), "--key", str(sshd.key), "--trust-on-first-use")
    assert table.returncode == 0, table.stderr
    assert "filesystem_usage_ratio" in table.stdout and "mountpoint=/" in table.stdout
    assert f"host_key: {sshd.fingerprint}" in table.stdout  # pinned in the snippet
    assert "(first-use)" in table.stdout


def test_wrong_key_is_an_authentication_failure_and_no_secret_is_shown(sshd: Sshd) -> None:
    args = ["--key", str(sshd.wrong_key), "--password-env", "WB_PROBE_PW"]
    result = probe(target(sshd), *args, "--host-key", sshd.fingerprint)
    assert result.returncode == 1
    assert "(auth)" in result.stderr and f"refused user '{sshd.user}'" in result.stderr
    assert "authorized_keys" in result.stderr  # the hint
    key_body = sshd.wrong_key.read_text().splitlines()[1]
    for secret in (PASSWORD, key_body):
        assert secret not in result.stdout + result.stderr
    as_json = probe(target(sshd), *args, "--host-key", sshd.fingerprint, "--json")
    assert json.loads(as_json.stdout)["observation"]["meta"]["error_kind"] == "auth"
    assert PASSWORD not in as_json.stdout + as_json.stderr


def test_changed_host_key_shows_the_offered_one(sshd: Sshd) -> None:
    result = probe(target(sshd), "--key", str(sshd.key), "--host-key", sshd.other_fingerprint)
    assert result.returncode == 1
    assert "(host_key)" in result.stderr
    assert f"the device offers host key {sshd.fingerprint}" in result.stderr
    assert f"--host-key {sshd.fingerprint}" in result.stderr


def test_unknown_host_key_without_a_pinning_option_is_refused_with_its_fingerprint(
    sshd: Sshd,
) -> None:
    result = probe(target(sshd), "--key", str(sshd.key), "--json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["ok"] is False and body["inventory"] is None
    assert body["offered_host_key"] == sshd.fingerprint
    assert "unknown host key" in body["observation"]["error"]


def test_closed_port_is_a_connect_error(sshd: Sshd) -> None:
    started = time.monotonic()
    result = probe(target(sshd, free_tcp_port()), "--key", str(sshd.key), "--trust-on-first-use")
    assert result.returncode == 1
    assert "refused the connection" in result.stderr and "(connect)" in result.stderr
    assert time.monotonic() - started < 30


def test_silent_device_times_out_within_the_probe_timeout(sshd: Sshd) -> None:
    with contextmanager(test_ssh_sshd.serve)(reset=False) as port:  # accepts, never speaks
        started = time.monotonic()
        key = str(sshd.key)
        result = probe(target(sshd, port), "--key", key, "--trust-on-first-use", "--timeout", "1")
        assert result.returncode == 1
        assert "(timeout)" in result.stderr and "--timeout" in result.stderr  # the hint
        assert time.monotonic() - started < 15  # one second, plus starting Python


def test_usage_errors_name_the_option() -> None:
    no_user = probe("127.0.0.1", "--key", "/nonexistent")
    assert no_user.returncode == 2 and "USER@HOST" in no_user.stderr
    two_ways = probe("ops@127.0.0.1", "--key", "/k", "--host-key", "x", "--trust-on-first-use")
    assert two_ways.returncode == 2 and "one of --host-key" in two_ways.stderr
    bad_pin = probe("ops@127.0.0.1", "--key", "/k", "--host-key", "MD5:aa")
    assert bad_pin.returncode == 2 and "--host-key: 'MD5:aa' is not a SHA256" in bad_pin.stderr
    bad_os = probe("ops@127.0.0.1", "--key", "/k", "--trust-on-first-use", "--os", "junos")
    assert bad_os.returncode == 2 and "--os 'junos'" in bad_os.stderr
