"""`systemd/weibao-agent.service` passes `systemd-analyze verify` and keeps its hardening.

verify refuses a unit whose ExecStart binary is missing, so it runs on a temporary copy
whose ExecStart points at this checkout's Python; everything else is the file as
shipped. Unknown or misspelt settings only print a warning, so the test fails on any
warning about the unit as well.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import require_peer

pytestmark = pytest.mark.integration
UNIT = Path(__file__).resolve().parents[2] / "systemd" / "weibao-agent.service"
INSTALLED = "/usr/bin/python3"
AGENT = "/opt/weibao-agent/weibao-agent.pex"


def settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def verify(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    analyze = require_peer("systemd-analyze", "verifies the agent's unit (Debian: systemd)")
    copy = tmp_path / "weibao-agent.service"
    copy.write_text(text.replace(INSTALLED, sys.executable))
    return subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )


def about_the_unit(output: str) -> list[str]:
    return [line for line in output.splitlines() if "weibao-agent" in line]


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    done = verify(tmp_path, UNIT.read_text())
    assert done.returncode == 0, done.stderr
    assert about_the_unit(done.stdout + done.stderr) == []


def test_the_check_catches_a_misspelt_setting(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("NoNewPrivileges=", "NoNewPrivilegez=")
    done = verify(tmp_path, broken)
    assert any("Unknown key" in line for line in about_the_unit(done.stderr))


def test_the_unit_is_hardened_and_restarts_only_when_it_can_help() -> None:
    unit = settings(UNIT.read_text())
    expected = {
        "User": "weibao-agent",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "StateDirectory": "weibao-agent",
        "Restart": "on-failure",
        "CapabilityBoundingSet": "",
    }
    assert {key: unit.get(key, [None])[-1] for key in expected} == expected
    assert "3" in unit["RestartPreventExitStatus"][0].split()  # the desk refused the token
    [start] = unit["ExecStart"]
    assert start.startswith(f"{INSTALLED} -I {AGENT} ")  # isolated: no cwd, no PYTHON*
    # The file unpacks itself into the unit's cache directory, the only place it may write
    # besides the state directory.
    assert unit["CacheDirectory"] == ["weibao-agent"]
    assert "PEX_ROOT=/var/cache/weibao-agent/pex" in unit["Environment"]
    assert "--state-dir /var/lib/weibao-agent" in start  # the StateDirectory
    assert "--token-file /etc/weibao-agent/token" in start
