"""``weibao probe snmp`` and ``weibao inspect`` as processes, against a real net-snmp agent.

The snmpd harness (free loopback port, config and state in tmp) is the one of
``test_snmp_snmpd``; net-snmp's own tools are the reference for what must be reported.
The commands run through a small Typer app holding just these modules, so the test does
not depend on how ``weibao.cli.main`` registers them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.test_snmp_snmpd import COMMUNITY, Snmpd, running_snmpd

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
APP = """
import typer
from weibao.cli import inspect_cmd, probe_cmd
app = typer.Typer()
inspect_cmd.register(app)
probe_cmd.register(app)
app()
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    yield from running_snmpd(tmp_path_factory)


def weibao(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", APP, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def sys_name(agent: Snmpd) -> str:
    out = agent.cli("snmpget", "1.3.6.1.2.1.1.5.0")
    return out.stdout.split(" ", 1)[1].strip().strip('"')


def interfaces(agent: Snmpd) -> dict[str, float]:
    names, types = agent.walk("1.3.6.1.2.1.31.1.1.1.1"), agent.walk("1.3.6.1.2.1.2.2.1.3")
    opers = agent.walk("1.3.6.1.2.1.2.2.1.8")
    return {names[i]: float(opers[i] == "1") for i in names if types.get(i) != "24"}


def got_interfaces(observation: dict[str, object]) -> dict[str, float]:
    samples = observation["samples"]
    assert isinstance(samples, list)
    return {s["labels"]["interface"]: s["value"] for s in samples if s["name"] == "interface_up"}


def test_probe_reports_what_snmpwalk_sees(agent: Snmpd) -> None:
    target = f"127.0.0.1:{agent.port}"
    result = weibao("probe", "snmp", target, "--community", COMMUNITY, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is True
    assert body["detected"]["profile"] == "net-snmp" and body["detected"]["vendor"] == "Linux"
    assert body["observation"]["meta"]["sys_name"] == sys_name(agent)
    assert got_interfaces(body["observation"]) == interfaces(agent)
    assert COMMUNITY not in result.stdout + result.stderr

    table = weibao("probe", "snmp", target, "--community", COMMUNITY)
    assert table.returncode == 0, table.stderr
    assert "profile" in table.stdout and "net-snmp" in table.stdout
    assert COMMUNITY not in table.stdout + table.stderr


def test_probe_with_a_wrong_community_says_why_without_the_community(agent: Snmpd) -> None:
    wrong = "wrong-community-7d1"
    result = weibao("probe", "snmp", f"127.0.0.1:{agent.port}", "--community", wrong)
    assert result.returncode == 1
    assert "cannot inspect 127.0.0.1:" in result.stderr and "(timeout)" in result.stderr
    assert "no answer" in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_inspect_an_inventory_device_over_snmp(agent: Snmpd, tmp_path: Path) -> None:
    snmp = {"community": "env:WB_TEST_COMMUNITY", "port": agent.port, "timeout": "1s"}
    inventory = {
        "customers": [
            {
                "name": "Acme",
                "contracts": [
                    {
                        "id": "C-1",
                        "name": "Acme 2026",
                        "start": "2026-01-01",
                        "end": "2026-12-31",
                        "service_manager": {"name": "Wang Lei"},
                        "sites": [
                            {
                                "name": "HQ",
                                "devices": [
                                    {
                                        "name": "lab-snmpd",
                                        "kind": "server",
                                        "address": "127.0.0.1",
                                        "inspect": {"snmp": snmp},
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory))
    env = {"WB_TEST_COMMUNITY": COMMUNITY}
    result = weibao("inspect", "-i", str(path), "--json", env=env)
    assert result.returncode == 0, result.stderr
    [observation] = json.loads(result.stdout)
    assert observation["device"] == "lab-snmpd" and observation["ok"] is True
    assert observation["meta"]["sys_name"] == sys_name(agent)
    assert got_interfaces(observation) == interfaces(agent)

    missing = weibao("inspect", "-i", str(path), "lab-snmpd")  # the variable is not set
    assert missing.returncode == 1
    assert "WB_TEST_COMMUNITY" in missing.stdout
