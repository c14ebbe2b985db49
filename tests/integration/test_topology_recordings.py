"""``weibao topology suggest`` as a process, against a real switch's recording served by snmpsim.

The Cisco IE3200 recording (LibreNMS test data, read in place) has two LLDP neighbours:
on port-001 the switch ``DE-XXX-XXX-FAC-MP-SW110`` (port Gi1/25, management address
10.46.101.110), on port-003 a Siemens PLC (chassis ID "pls", management address
192.168.100.3). The test inventory names the first by its name and the second only by
its address, and adds a switch whose SNMP port is closed, which must be listed with the
reason while the others are still read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.snmpsim_peer import free_udp_port, serve_recordings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IE3200 = "cisco-iosxe_ie32008t2s-ios17-12"
UPLINK = "DE-XXX-XXX-FAC-MP-SW110"
APP = """
import typer
from weibao.cli import topology_cmd
app = typer.Typer()
topology_cmd.register(app)
app()
"""


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with serve_recordings([IE3200], tmp_path_factory.mktemp("snmpsim")) as port:
        yield port


def weibao(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", APP, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "WB_TOPO_COMMUNITY": IE3200},
        capture_output=True,
        text=True,
        timeout=90,
    )


def write_inventory(path: Path, port: int) -> None:
    def snmp(at: int) -> dict[str, Any]:
        return {"community": "env:WB_TOPO_COMMUNITY", "port": at, "timeout": "1s", "retries": 0}

    devices = [
        {"name": UPLINK, "kind": "switch", "role": "distribution", "address": "10.46.101.110"},
        {
            "name": "ie3200",
            "kind": "switch",
            "role": "access",
            "address": "127.0.0.1",
            "inspect": {"snmp": snmp(port)},
        },
        {"name": "plc-1", "kind": "other", "address": "192.168.100.3"},
        {
            "name": "dead-sw",
            "kind": "switch",
            "address": "127.0.0.1",
            "inspect": {"snmp": snmp(free_udp_port())},  # nothing listens there
        },
    ]
    contract = {
        "id": "C-1",
        "name": "Plant 2026",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "service_manager": {"name": "Wang Lei"},
        "sites": [{"name": "Plant", "devices": devices}],
    }
    inventory = {"customers": [{"name": "Acme", "contracts": [contract]}]}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_neighbours_are_read_matched_and_suggested(snmpsim: int, tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    write_inventory(path, snmpsim)
    before = path.read_bytes()
    result = weibao("topology", "suggest", "-i", str(path), "--json")
    assert result.returncode == 1, result.stderr  # dead-sw could not be inspected
    body = json.loads(result.stdout)
    assert body["inspected"] == ["ie3200"]
    [failed] = body["failed"]
    assert failed["device"] == "dead-sw" and failed["error_kind"] == "timeout"
    assert "no answer" in failed["error"]
    links = {(x["device"], x["local_port"], x["neighbor"], x["matched_by"]) for x in body["links"]}
    assert links == {
        ("ie3200", "port-001", UPLINK, "name"),
        ("ie3200", "port-003", "plc-1", "address"),
    }
    suggestions = {s["device"]: s for s in body["suggestions"]}
    assert set(suggestions) == {"ie3200", "plc-1"}
    assert suggestions["ie3200"]["status"] == "new"
    assert suggestions["ie3200"]["depends_on"] == [UPLINK]
    assert suggestions["plc-1"]["depends_on"] == ["ie3200"]
    # The snippet says where each device is, by file and line, and pastes as YAML.
    at = f"{path}:{line_of(path, '- name: ie3200')}: customers[Acme].contracts[C-1]"
    assert f"# {at}.sites[Plant].devices[ie3200] (new; nothing declared)" in body["yaml"]
    assert yaml.safe_load(body["yaml"].split("\n\n")[0]) == {"depends_on": [UPLINK]}
    assert body["unmatched"] == [] and body["cycles"] == []
    assert IE3200 not in result.stdout + result.stderr  # the community is never shown

    table = weibao("topology", "suggest", "-i", str(path), "ie3200")
    assert table.returncode == 0, table.stderr
    assert "new" in table.stdout and f"depends_on: [{UPLINK}]" in table.stdout
    assert "depends_on: [ie3200]" in table.stdout  # the PLC below the switch
    assert path.read_bytes() == before  # suggestions only: the inventory is never edited


def test_a_device_without_snmp_is_refused_by_name(snmpsim: int, tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    write_inventory(path, snmpsim)
    result = weibao("topology", "suggest", "-i", str(path), "plc-1")
    assert result.returncode == 2
    assert "plc-1 is not inspected over SNMP" in result.stderr
