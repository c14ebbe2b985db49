"""Every unit in `systemd/` passes `systemd-analyze verify` without a warning about it,
and the desk's and collector's units keep their hardening (the agent's unit has its own,
stricter test in test_agent_systemd.py).

verify refuses a unit whose ExecStart binary is missing, so it runs on a temporary copy
whose /opt/weibao paths point at this checkout's interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import require_peer

from .test_agent_systemd import settings

pytestmark = pytest.mark.integration
UNITS = sorted((Path(__file__).resolve().parents[2] / "systemd").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_every_unit_verifies_cleanly(unit: Path, tmp_path: Path) -> None:
    analyze = require_peer("systemd-analyze", "verifies the units (Debian: systemd)")
    copy = tmp_path / unit.name
    text = unit.read_text().replace("/opt/weibao/bin/python", sys.executable)
    copy.write_text(text.replace("/opt/weibao/bin/weibao", sys.executable))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    stem = unit.name.removesuffix(".service")
    assert [line for line in (done.stdout + done.stderr).splitlines() if stem in line] == []


@pytest.mark.parametrize("name", ["weibao-desk.service", "weibao-collector.service"])
def test_services_run_unprivileged_and_hardened(name: str) -> None:
    unit = settings((UNITS[0].parent / name).read_text())
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert unit[key] == ["yes"], key
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["User"][0].startswith("weibao") and unit["Restart"] == ["on-failure"]
    assert unit["CapabilityBoundingSet"][0] in ("", "CAP_NET_BIND_SERVICE")
    [check] = unit["ExecStartPre"]
    assert " check -i " in check  # a broken inventory never starts half a system
