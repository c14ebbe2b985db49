"""The SSH parsers on saved command output (tests/collector/fixtures/ssh/), no network."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.driver import Depth
from collector.ssh.parsers import Reading, vrp
from collector.ssh.parsers import linux as lx
from collector.ssh.profiles import PROFILES
from weibao.vocabulary import BY_NAME

FIXTURES = Path(__file__).parent / "fixtures" / "ssh"


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def values(reading: Reading, name: str, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in reading.samples if s.name == name}


def test_uptime_and_load() -> None:
    assert lx.parse_uptime(text("linux/uptime.txt")).samples[0].value == 1234567.89
    assert lx.parse_loadavg(text("linux/loadavg.txt")).samples[0].value == 0.52
    assert lx.parse_uptime("").samples == []


def test_df_matches_capacity_and_skips_pseudo_filesystems() -> None:
    used = values(lx.parse_df(text("linux/df.txt")), "filesystem_usage_ratio", "mountpoint")
    assert set(used) == {"/", "/boot/efi", "/srv/data files", "/var/lib/mysql"}
    # df's Capacity is used / (used + available), rounded up: 96 % for /.
    assert used["/"] == pytest.approx(93256412 / (93256412 + 4110508))
    assert 0.95 < used["/"] <= 0.96


def test_df_inodes_leaves_out_filesystems_without_inodes() -> None:
    inodes = values(
        lx.parse_df_inodes(text("linux/df_inodes.txt")),
        "filesystem_inodes_usage_ratio",
        "mountpoint",
    )
    assert "/boot/efi" not in inodes
    assert inodes["/"] == pytest.approx(0.96)


def test_meminfo_counts_available_memory_and_swap() -> None:
    reading = lx.parse_meminfo(text("linux/meminfo.txt"))
    mem = {s.name: s.value for s in reading.samples}
    assert mem["memory_usage_ratio"] == pytest.approx(1 - 4076030 / 16304120)
    assert mem["swap_usage_ratio"] == pytest.approx((2097148 - 1572861) / 2097148)


def test_no_swap_gives_no_swap_sample() -> None:
    names = [s.name for s in lx.parse_meminfo(text("linux/meminfo_noswap.txt")).samples]
    assert names == ["memory_usage_ratio"]


def test_failed_units_counted_and_named() -> None:
    reading = lx.parse_systemctl_failed(text("linux/systemctl_failed.txt"))
    assert reading.samples[0].value == 2
    assert reading.facts["failed_units"] == "logrotate.service, nginx.service"
    assert lx.parse_systemctl_failed("").samples[0].value == 0


def test_mdstat_states() -> None:
    reading = lx.parse_mdstat(text("linux/mdstat.txt"))
    degraded = values(reading, "raid_degraded", "array")
    assert degraded == {"md0": 0.0, "md1": 1.0, "md2": 1.0, "md3": 1.0}
    states = {
        s.labels["array"]: s.labels["state"] for s in reading.samples if s.name == "raid_state"
    }
    assert states == {"md0": "clean", "md1": "degraded", "md2": "rebuilding", "md3": "inactive"}
    assert lx.parse_mdstat(text("linux/mdstat_none.txt")).samples == []


def test_journal_counts_and_keeps_the_latest_line() -> None:
    sample = lx.parse_journal(text("linux/journal.txt")).samples[0]
    assert sample.value == 4
    assert sample.labels["source"] == "journal"
    assert "EXT4-fs error" in sample.labels["text"]
    # None since the last run is a 0 with empty text, so the alarm can clear.
    empty = lx.parse_journal("").samples[0]
    assert (empty.value, empty.labels["text"]) == (0, "")


def test_dmesg_counts_only_lines_since_the_last_run() -> None:
    since = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 02:00 on the 21st at +08:00
    sample = lx.parse_dmesg(text("linux/dmesg.txt"), since).samples[0]
    assert sample.value == 2
    assert sample.labels["source"] == "kernel"
    assert sample.labels["text"].startswith("EXT4-fs error")


def test_vrp_cpu_and_memory() -> None:
    assert vrp.parse_cpu_usage(text("vrp/cpu_usage.txt")).samples[0].value == pytest.approx(0.17)
    memory = vrp.parse_memory_usage(text("vrp/memory_usage.txt")).samples[0]
    assert memory.value == pytest.approx(0.38)
    assert vrp.parse_cpu_usage("Error: Unrecognized command").samples == []


def test_vrp_device_model() -> None:
    assert vrp.parse_device(text("vrp/device.txt")).facts == {"model": "S5720-28X-SI-AC"}


def test_vrp_fans_and_power_skip_absent_modules() -> None:
    fans = values(vrp.parse_fan(text("vrp/fan.txt")), "fan_ok", "fan")
    assert fans == {"0/1": 1.0, "0/2": 0.0}
    psus = values(vrp.parse_power(text("vrp/power.txt")), "power_supply_ok", "psu")
    assert psus == {"0/PWR1": 1.0, "0/PWR2": 0.0}


def test_vrp_temperatures() -> None:
    temps = values(
        vrp.parse_temperature(text("vrp/temperature.txt")), "temperature_celsius", "sensor"
    )
    assert temps == {"0/1": 41.0, "0/2": 37.0, "1/1": 74.0}


def test_vrp_interfaces() -> None:
    reading = vrp.parse_interface_brief(text("vrp/interface_brief.txt"))
    up = values(reading, "interface_up", "interface")
    admin = values(reading, "interface_admin_up", "interface")
    assert up["GigabitEthernet0/0/1"] == 1.0
    assert up["GigabitEthernet0/0/2"] == 0.0
    assert up["GigabitEthernet0/0/23"] == 1.0  # a trunk member, indented
    assert (up["GigabitEthernet0/0/3"], admin["GigabitEthernet0/0/3"]) == (0.0, 0.0)
    assert admin["GigabitEthernet0/0/2"] == 1.0
    assert up["NULL0"] == 1.0
    assert len(up) == 9


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profiles_use_only_vocabulary_names(profile: str) -> None:
    """Every parser's samples are in weibao.vocabulary, with exactly its labels."""
    fixtures = {
        "linux": {
            "uptime": "uptime.txt",
            "loadavg": "loadavg.txt",
            "df": "df.txt",
            "df_inodes": "df_inodes.txt",
            "meminfo": "meminfo.txt",
            "systemd_failed": "systemctl_failed.txt",
            "mdstat": "mdstat.txt",
            "journal": "journal.txt",
            "dmesg": "dmesg.txt",
            "identity": "identity.txt",
        },
        "huawei-vrp": {
            "cpu_usage": "cpu_usage.txt",
            "memory_usage": "memory_usage.txt",
            "device": "device.txt",
            "fan": "fan.txt",
            "power": "power.txt",
            "temperature": "temperature.txt",
            "interface_brief": "interface_brief.txt",
        },
    }.get(profile)
    folder = {"linux": "linux", "huawei-vrp": "vrp", "h3c-comware": "comware"}.get(profile, "ios")
    since = datetime(2026, 11, 20, tzinfo=UTC)
    commands = PROFILES[profile].for_depth(Depth.full)
    if fixtures is None:  # the newer profiles' fixtures are named after the command keys
        fixtures = {c.key: f"{c.key}.txt" for c in commands}
    assert {c.key for c in commands} == set(fixtures)
    for command in commands:
        for s in command.parse_output(text(f"{folder}/{fixtures[command.key]}"), since).samples:
            assert s.name in BY_NAME, s.name
            # A port's description rides along as "alias", as the SNMP interfaces reader's.
            optional = {"alias"} if s.name.startswith("interface_") else set()
            assert (
                set(BY_NAME[s.name].labels)
                <= set(s.labels)
                <= set(BY_NAME[s.name].labels) | optional
            ), s


def test_log_commands_only_in_full_inspections() -> None:
    health = {c.key for c in PROFILES["linux"].for_depth(Depth.health)}
    assert "journal" not in health and "dmesg" not in health
    since = datetime(2026, 11, 20, tzinfo=UTC)
    journal = next(c for c in PROFILES["linux"].commands if c.key == "journal")
    assert f"--since @{int(since.timestamp())}" in journal.render(since)


def test_mdstat_resync_is_its_own_state() -> None:
    text = (
        "md4 : active raid1 sdb2[1] sda2[0]\n"
        "      1048512 blocks super 1.2 [2/2] [UU]\n"
        "      [=>...................]  resync =  8.5% (89344/1048512) finish=0.5min\n"
    )
    states = [s.labels["state"] for s in lx.parse_mdstat(text).samples if s.name == "raid_state"]
    assert states == ["resyncing"]
