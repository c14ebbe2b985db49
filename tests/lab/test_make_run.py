"""What `make run` adds around the lab: the busy-address hint, the lab's inventory copy
(moved network, the notice sink's channel) and the sink itself."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.request
from pathlib import Path

import pytest

from lab.fleet import Fleet
from lab.inventory import SINK_CHANNEL, lab_inventory, move_address
from lab.notify_sink import NotifySink
from lab.runner import Lab, LabError, LabThread
from lab.state import LabState
from tests.lab.conftest import REPO_INVENTORY, lab_environ
from weibao.inventory.loader import load_inventory


def test_addresses_in_use_give_one_hint_about_another_lab(fleet: Fleet, tmp_path: Path) -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        lab = Lab(
            fleet,
            LabState(tmp_path),
            host="127.0.0.1",
            snmp_port=port,  # every SNMP device on the one port another lab holds
            ssh_port=0,
            environ=lab_environ(),
        )
        with pytest.raises(LabError) as error:
            LabThread(lab).start()
    finally:
        taken.close()
    message = str(error.value)
    snmp_devices = sum(1 for d in fleet.devices.values() if d.snmp is not None)
    assert f"{snmp_devices} of the lab's addresses are already in use" in message
    assert "another lab seems to be running" in message and "--net 127.0.1.0/24" in message
    assert "WEIBAO_LAB_NET=127.0.1.0/24" in message
    assert message.count("in use") == 1  # one hint, not a line per device


def test_moved_addresses_keep_their_host_part(fleet: Fleet, tmp_path: Path) -> None:
    net = ipaddress.IPv4Network("127.0.1.0/24")
    assert move_address("127.0.0.11", net) == "127.0.1.11"
    lab = Lab(fleet, LabState(tmp_path), net=net)
    assert lab.address(fleet.devices["ht-core-sw-1"]) == "127.0.1.11"
    assert (
        Lab(fleet, LabState(tmp_path), host="127.0.0.1", net=net).address(
            fleet.devices["ht-core-sw-1"]
        )
        == "127.0.0.1"
    )


def test_the_lab_inventory_moves_addresses_adds_the_sink_and_keeps_line_numbers(
    tmp_path: Path,
) -> None:
    text = REPO_INVENTORY.read_text(encoding="utf-8")
    copy = lab_inventory(
        text,
        net=ipaddress.IPv4Network("127.0.1.0/24"),
        webhook_env="WEIBAO_LAB_WEBHOOK_URL",
        base_url="http://127.0.0.1:8080",
    )
    original, moved = text.splitlines(), copy.splitlines()
    for before, after in zip(original, moved, strict=False):  # line for line
        moves = before.lstrip().startswith("address: 127.0.0.")
        assert after == (before.replace("127.0.0.", "127.0.1.") if moves else before)
    path = tmp_path / "inventory.yaml"
    path.write_text(copy, encoding="utf-8")
    inventory = load_inventory(path)
    assert [c.name for c in inventory.notifications.channels] == [SINK_CHANNEL]
    assert {ctx.device.address for ctx in inventory.device_index().values()} <= {
        f"127.0.1.{n}" for n in range(256)
    }
    # The repo's example itself stays without a channel; a copy of an inventory that has
    # its own notifications keeps them.
    assert "notifications:" not in text.replace("under notifications:", "")
    assert lab_inventory(copy, webhook_env="OTHER") == copy


def test_the_sink_writes_each_notice_to_its_log(tmp_path: Path) -> None:
    log = tmp_path / "notifications.log"
    sink = NotifySink(log)
    url = sink.start()
    try:
        notice = {
            "kind": "ticket.escalated",
            "title": "[II] WB-2026-000001 ht-ups-1: UPS on battery",
            "body": "响应时限将到\nresponse due soon",
            "recipients": [{"name": "李强"}, {"name": "王磊"}],
        }
        request = urllib.request.Request(
            url,
            data=json.dumps(notice, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 204
    finally:
        sink.close()
    text = log.read_text(encoding="utf-8")
    assert "ticket.escalated  [II] WB-2026-000001 ht-ups-1: UPS on battery" in text
    assert "  to: 李强, 王磊\n" in text and "  response due soon\n" in text
