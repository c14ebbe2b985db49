"""The lab on free loopback ports, and the repo's inventory pointed at it.

Every device binds 127.0.0.1 on a port of its own (port 0), so tests never collide with
a `make run` lab on 127.0.0.x:1161 or with each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import FLEET, LAB_ENV
from lab.fleet import Fleet, load_fleet
from lab.runner import Lab, LabThread
from lab.state import Endpoint, LabState
from weibao.inventory.model import Inventory

REPO_INVENTORY = Path(__file__).resolve().parents[2] / "inventory.yaml"


def lab_environ() -> dict[str, str]:
    """The lab-only credentials of lab/lab.env (KEY=value lines)."""
    env = {}
    for line in LAB_ENV.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


@dataclass
class RunningLab:
    thread: LabThread
    state: LabState
    endpoints: dict[tuple[str, str], Endpoint]

    def port(self, device: str, protocol: str = "snmp") -> int:
        return self.endpoints[(device, protocol)].port

    def fault(self, name: str, on: bool) -> None:
        """Switch a fault and apply it now (no waiting for the lab's poll)."""
        from datetime import UTC, datetime

        self.state.set_fault(name, on, datetime.now(UTC))
        self.thread.reload()


def start_lab(fleet: Fleet, state_dir: Path) -> LabThread:
    lab = Lab(
        fleet,
        LabState(state_dir),
        host="127.0.0.1",
        snmp_port=0,
        ssh_port=0,
        environ=lab_environ(),
        poll=0.05,
    )
    thread = LabThread(lab)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(FLEET)


@pytest.fixture(scope="module")
def running_lab(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    state_dir = tmp_path_factory.mktemp("lab")
    thread = start_lab(fleet, state_dir)
    try:
        endpoints = {(e.device, e.protocol): e for e in thread.lab.endpoints}
        yield RunningLab(thread, LabState(state_dir), endpoints)
    finally:
        thread.stop()


def lab_inventory_data(
    endpoints: Mapping[tuple[str, str], Endpoint], snmp_timeout: str = "1s"
) -> dict[str, Any]:
    """inventory.yaml as data, each lab device at its test endpoint; short timeouts, so a
    silent device costs a second, not the UPS card's 5 s x 3."""
    data: dict[str, Any] = yaml.safe_load(REPO_INVENTORY.read_text(encoding="utf-8"))
    for customer in data["customers"]:
        for contract in customer["contracts"]:
            for site in contract["sites"]:
                for device in site["devices"]:
                    inspect = device.get("inspect", {})
                    for protocol in ("snmp", "ssh"):
                        endpoint = endpoints.get((device["name"], protocol))
                        if endpoint is None or protocol not in inspect:
                            continue
                        device["address"] = endpoint.host
                        inspect[protocol]["port"] = endpoint.port
                        inspect[protocol]["timeout"] = snmp_timeout if protocol == "snmp" else "3s"
                        if protocol == "snmp":
                            inspect[protocol]["retries"] = 0
    return data


def lab_inventory(endpoints: Mapping[tuple[str, str], Endpoint]) -> Inventory:
    return Inventory.model_validate(lab_inventory_data(endpoints))
