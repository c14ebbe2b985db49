"""The lab refuses to start half a fleet, and says which devices and why."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from lab.fleet import Fleet
from lab.runner import Lab, LabError
from lab.state import LabState
from tests.lab.conftest import lab_environ


def start(lab: Lab) -> None:
    async def run() -> None:
        try:
            await lab.start()
        finally:
            lab.close()

    asyncio.run(run())


def test_a_busy_port_names_the_devices(fleet: Fleet, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        lab = Lab(
            fleet,
            LabState(tmp_path),
            host="127.0.0.1",
            snmp_port=port,
            ssh_port=0,
            environ=lab_environ(),
        )
        with pytest.raises(LabError) as caught:
            start(lab)
    message = str(caught.value)
    # One hint for the lot (most likely another lab), naming the first devices.
    assert "10 of the lab's addresses are already in use" in message
    assert f"(ht-core-sw-1 127.0.0.1:{port}/udp, " in message
    assert message.count("already in use") == 1
    assert not (tmp_path / "lab.json").exists()


def test_a_missing_secret_names_its_reference(fleet: Fleet, tmp_path: Path) -> None:
    env = {k: v for k, v in lab_environ().items() if k != "WEIBAO_HT_UPS_COMMUNITY"}
    lab = Lab(fleet, LabState(tmp_path), host="127.0.0.1", snmp_port=0, ssh_port=0, environ=env)
    with pytest.raises(LabError) as caught:
        start(lab)
    assert "ht-ups-1 (snmp): secret env:WEIBAO_HT_UPS_COMMUNITY cannot be read" in str(caught.value)
