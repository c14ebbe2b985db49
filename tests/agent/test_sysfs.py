"""The /sys readers psutil has no equivalent for, against the fixture machine."""

from __future__ import annotations

from pathlib import Path

from agent.sysfs import SysReader, clean_serial
from tests.agent.conftest import HOST

SYS = SysReader(HOST / "sys")


def test_whole_disks_leave_out_loop_and_device_mapper() -> None:
    assert SYS.whole_disks() == {"sda", "sdb", "md0", "nvme0n1"}
    assert SYS.smart_disks() == ["nvme0n1", "sda", "sdb"]


def test_fans_are_judged_only_where_the_chip_says() -> None:
    fans = SYS.fans()
    # fan2 reads 0 RPM with neither alarm nor minimum: an unused header, left out; fan3
    # turns below its minimum. hwmon2 is a second chip of the same kind.
    assert fans == [("nct6775/CPU fan", True), ("nct6775/fan3", False), ("nct6775/CPU fan#2", True)]


def test_no_hwmon_at_all(tmp_path: Path) -> None:
    assert SysReader(tmp_path).fans() == []


def test_dmi_serial_and_the_placeholders_vendors_write() -> None:
    assert SYS.dmi_serial() == "CN7012345678"
    for junk in ("To Be Filled By O.E.M.", "Default string", "Not Specified", " ", None):
        assert clean_serial(junk) is None
    assert SysReader("/nonexistent").dmi_serial() is None
