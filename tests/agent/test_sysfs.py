"""The /sys readers against the fixture machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.sysfs import SysReader, clean_serial
from tests.agent.conftest import HOST

SYS = SysReader(HOST / "sys")


def test_whole_disks_leave_out_loop_and_device_mapper() -> None:
    assert SYS.whole_disks() == {"sda", "sdb", "md0", "nvme0n1"}
    assert SYS.smart_disks() == ["nvme0n1", "sda", "sdb"]


def test_container_interfaces_and_loopback_are_not_watched() -> None:
    assert SYS.watched_interface("eth0") and SYS.watched_interface("bond0")
    assert not SYS.watched_interface("lo")
    assert not SYS.watched_interface("veth1a2b3c")
    assert not SYS.watched_interface("br-0123456789ab")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("eth0", (True, True, 1e9)),
        ("eth1", (False, False, None)),  # down, not enabled, speed -1
        ("bond0", (True, True, 2e9)),
        ("lo", (True, True, None)),  # "unknown" operstate: the carrier tells
        ("missing", (None, None, None)),
    ],
)
def test_link_state(name: str, expected: tuple[object, ...]) -> None:
    assert SYS.link(name) == expected


def test_temperatures_named_by_chip_and_label_kept_apart_when_chips_repeat() -> None:
    temps, _ = SYS.hwmon()
    assert temps == [
        ("coretemp/Package id 0", 45.0),
        ("coretemp/temp2", 43.5),
        ("nct6775/SYSTIN", 38.0),
        ("coretemp/Package id 0@hwmon2", 47.0),
    ]


def test_fans_are_judged_only_where_the_chip_says() -> None:
    _, fans = SYS.hwmon()
    # fan2 reads 0 RPM with neither alarm nor minimum: an unused header, left out.
    assert fans == [("nct6775/CPU fan", True), ("nct6775/fan3", False)]


def test_no_hwmon_at_all(tmp_path: Path) -> None:
    assert SysReader(tmp_path).hwmon() == ([], [])


def test_dmi_serial_and_the_placeholders_vendors_write() -> None:
    assert SYS.dmi_serial() == "CN7012345678"
    for junk in ("To Be Filled By O.E.M.", "Default string", "Not Specified", " ", None):
        assert clean_serial(junk) is None
    assert SysReader("/nonexistent").dmi_serial() is None
