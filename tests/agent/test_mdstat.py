"""Software RAID from /proc/mdstat samples."""

from __future__ import annotations

from agent.mdstat import parse_mdstat
from agent.snapshot import RaidArray
from tests.agent.conftest import FIXTURES


def parse(name: str) -> dict[str, RaidArray]:
    text = (FIXTURES / "mdstat" / name).read_text()
    return {a.name: a for a in parse_mdstat(text)}


def test_clean_arrays_are_not_degraded_and_raid0_has_nothing_to_lose() -> None:
    arrays = parse("clean")
    assert set(arrays) == {"md0", "md1", "md2"}
    assert not any(a.degraded for a in arrays.values())
    assert arrays["md1"].level == "raid1" and arrays["md2"].level == "raid0"
    assert all(a.sync_ratio is None for a in arrays.values())


def test_degraded_by_missing_member_and_by_failed_member() -> None:
    arrays = parse("degraded")
    assert arrays["md0"].degraded and arrays["md0"].failed_members == 0
    assert arrays["md1"].degraded and arrays["md1"].failed_members == 1


def test_resync_keeps_redundancy_and_reports_progress() -> None:
    arrays = parse("resyncing")
    assert not arrays["md0"].degraded
    assert (arrays["md0"].sync_action, arrays["md0"].sync_ratio) == ("resync", 0.275)
    assert (arrays["md1"].sync_action, arrays["md1"].sync_ratio) == ("resync", 0.0)


def test_recovery_is_degraded_and_a_routine_check_is_no_rebuild() -> None:
    arrays = parse("recovering")
    assert arrays["md2"].degraded
    assert arrays["md2"].sync_ratio == 0.126
    assert arrays["md3"].sync_action == "check" and arrays["md3"].sync_ratio is None
    assert not arrays["md3"].degraded


def test_imsm_container_is_skipped_and_a_stuck_inactive_array_is_degraded() -> None:
    arrays = parse("container")
    assert "md127" not in arrays
    assert not arrays["md126"].degraded
    assert arrays["md5"].degraded


def test_the_machine_fixture_mdstat() -> None:
    text = (FIXTURES / "host" / "proc" / "mdstat").read_text()
    assert [(a.name, a.degraded) for a in parse_mdstat(text)] == [("md0", True)]
