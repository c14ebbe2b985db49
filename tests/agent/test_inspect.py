"""Inspections of the fixture machine speak the shared vocabulary, with sane values."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.host import Host
from agent.identity import BootMemory, Identity, read_identity
from agent.inspect import Inspector
from agent.snapshot import ProcessUsage
from tests.agent.conftest import HOST, Ticker, healthy_commands, make_host
from weibao.clock import FrozenClock
from weibao.observation import Observation
from weibao.vocabulary import BY_NAME

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def labels_of(name: str) -> tuple[str, ...]:
    return tuple(sorted(BY_NAME[name].labels))


def inspector(host: Host, **kwargs: object) -> Inspector:
    def identity() -> Identity:
        return read_identity(host.proc, host.sysfs, etc_root=HOST / "etc")

    return Inspector("hq-db-01", host, FrozenClock(NOW), identity, **kwargs)  # type: ignore[arg-type]


def value(obs: Observation, name: str, **labels: str) -> float | None:
    return obs.value(name, **labels)


def test_health_inspection_speaks_the_vocabulary(tmp_path: Path) -> None:
    obs = inspector(make_host(tmp_path, commands=healthy_commands())).inspect()
    assert obs.device == "hq-db-01" and obs.source == "agent" and obs.time == NOW
    for sample in obs.samples:
        assert sample.name in BY_NAME, sample.name
        assert tuple(sorted(sample.labels)) == labels_of(sample.name), sample
        if sample.name.endswith("_ratio"):
            assert 0 <= sample.value <= 1, sample
    names = {s.name for s in obs.samples}
    assert "disk_smart_ok" not in names and "process_cpu_ratio" not in names  # full only


def test_health_values_from_the_fixture_machine(tmp_path: Path) -> None:
    obs = inspector(make_host(tmp_path, commands=healthy_commands())).inspect()
    assert value(obs, "up") == 1
    assert value(obs, "uptime_seconds") == 3600.5
    assert value(obs, "load1") == 1.5
    assert value(obs, "memory_usage_ratio") == 0.75
    assert value(obs, "swap_usage_ratio") == 0.25
    assert value(obs, "filesystem_usage_ratio", mountpoint="/") == pytest.approx(70 / 95, abs=1e-6)
    assert value(obs, "filesystem_inodes_usage_ratio", mountpoint="/") == 0.2
    assert value(obs, "filesystem_inodes_usage_ratio", mountpoint="/data") is None  # no inodes
    assert value(obs, "filesystem_readonly", mountpoint="/mnt/back up") == 1
    assert value(obs, "interface_up", interface="eth0") == 1
    assert value(obs, "interface_up", interface="eth1") == 0
    assert value(obs, "interface_admin_up", interface="eth1") == 0
    assert value(obs, "interface_speed_bits", interface="bond0") == 2e9
    assert value(obs, "interface_up", interface="veth1a2b3c") is None
    assert (value(obs, "processes_count"), value(obs, "processes_zombie")) == (4, 2)
    assert value(obs, "raid_degraded", array="md0") == 1
    assert value(obs, "temperature_celsius", sensor="coretemp/Package id 0") == 45.0
    assert value(obs, "fan_ok", fan="nct6775/fan3") == 0
    assert value(obs, "systemd_failed_units") == 2
    assert obs.meta["failed_units"] == "nginx.service backup-nightly.timer"
    assert value(obs, "clock_offset_seconds") == pytest.approx(0.000012)
    assert value(obs, "clock_synchronized") == 1


def test_identity_in_every_observations_meta(tmp_path: Path) -> None:
    obs = inspector(make_host(tmp_path)).inspect()
    assert obs.meta["hostname"] == "hq-db-01"
    assert obs.meta["machine_id"] == "0f3c9a1e2b4d4c6e8a0b1c2d3e4f5a6b"
    assert obs.meta["dmi_serial"] == "CN7012345678"
    assert obs.meta["inspection"] == "health"


def test_dmi_serial_copied_by_the_unit_when_sysfs_hides_it(tmp_path: Path) -> None:
    host = make_host(tmp_path, sys_root=tmp_path / "no-sys")
    (tmp_path / "dmi_serial").write_text("CN99\n")
    identity = read_identity(host.proc, host.sysfs, etc_root=tmp_path, state_dir=tmp_path)
    assert identity == Identity(hostname="hq-db-01", machine_id=None, dmi_serial="CN99")
    assert identity.meta() == {"hostname": "hq-db-01", "dmi_serial": "CN99"}


def test_no_systemd_means_unknown_never_zero(tmp_path: Path) -> None:
    obs = inspector(make_host(tmp_path, systemd=False)).inspect()
    assert value(obs, "systemd_failed_units") is None
    assert obs.meta["unknown.systemd_failed_units"] == "systemd is not running on this machine"
    assert value(obs, "clock_offset_seconds") is None
    assert "unknown.clock_offset_seconds" in obs.meta


def test_a_missing_reader_costs_only_its_part(tmp_path: Path, host_copy: Path) -> None:
    (host_copy / "proc" / "meminfo").unlink()
    (host_copy / "proc" / "loadavg").write_text("garbage\n")
    obs = inspector(make_host(tmp_path, proc_root=host_copy / "proc")).inspect()
    assert value(obs, "up") == 1 and value(obs, "uptime_seconds") == 3600.5
    assert value(obs, "memory_usage_ratio") is None and value(obs, "load1") is None
    assert "No such file" in obs.meta["unknown.memory_usage_ratio"]
    assert "unknown.load1" in obs.meta


def bump(path: Path, name: str, column: int, by: int) -> None:
    """Add ``by`` to one counter column of the line for ``name`` in a /proc table."""
    lines = []
    for line in path.read_text().splitlines():
        fields = line.replace(":", ": ", 1).split() if path.name == "dev" else line.split()
        key = fields[0].rstrip(":") if path.name in ("dev", "stat") else fields[2]
        if key == name:
            fields[column] = str(int(fields[column]) + by)
            line = " ".join(fields)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def test_rates_from_two_snapshots(tmp_path: Path, host_copy: Path) -> None:
    ticker = Ticker()
    host = make_host(tmp_path, proc_root=host_copy / "proc", monotonic=ticker)
    agent = inspector(host)
    agent.prime()
    proc = host_copy / "proc"
    bump(proc / "diskstats", "sda", 5, 20_000)  # sectors read: 10 MB in 10 s
    bump(proc / "diskstats", "sda", 12, 2_500)  # 2.5 s busy in 10 s
    bump(proc / "net" / "dev", "eth0", 1, 5_000)  # received bytes
    bump(proc / "net" / "dev", "eth0", 3, 30)  # receive errors
    bump(proc / "net" / "dev", "eth0", 12, 10)  # transmit drops
    bump(proc / "stat", "cpu", 1, 600)  # user: 6 s of 20 s
    bump(proc / "stat", "cpu", 4, 1200)  # idle
    bump(proc / "stat", "cpu", 5, 200)  # iowait
    ticker.now += 10
    obs = agent.inspect()
    assert value(obs, "disk_read_bytes_rate", disk="sda") == 20_000 * 512 / 10
    assert value(obs, "disk_write_bytes_rate", disk="sda") == 0
    assert value(obs, "disk_busy_ratio", disk="sda") == 0.25
    assert value(obs, "interface_bits_rate", interface="eth0", direction="in") == 500 * 8
    assert value(obs, "interface_errors_rate", interface="eth0", direction="in") == 3
    assert value(obs, "interface_discards_rate", interface="eth0", direction="out") == 1
    assert value(obs, "cpu_usage_ratio") == 0.3
    assert value(obs, "cpu_iowait_ratio") == 0.1


def test_a_counter_reset_gives_no_rate_never_a_negative_one(
    tmp_path: Path, host_copy: Path
) -> None:
    ticker = Ticker()
    agent = inspector(make_host(tmp_path, proc_root=host_copy / "proc", monotonic=ticker))
    agent.prime()
    bump(host_copy / "proc" / "net" / "dev", "eth0", 1, -900_000)  # driver reloaded
    bump(host_copy / "proc" / "stat", "cpu", 4, -100)  # a CPU went offline
    ticker.now += 10
    obs = agent.inspect()
    assert value(obs, "interface_bits_rate", interface="eth0", direction="in") is None
    assert value(obs, "interface_bits_rate", interface="eth0", direction="out") == 0
    assert value(obs, "cpu_usage_ratio") is None
    assert all(s.value >= 0 for s in obs.samples if s.name.endswith("_rate"))


def test_first_inspection_without_prime_leaves_rates_out(tmp_path: Path) -> None:
    obs = inspector(make_host(tmp_path)).inspect()
    assert not [s for s in obs.samples if s.name.endswith("_rate")]
    assert value(obs, "cpu_usage_ratio") is None


def test_full_inspection_adds_smart_and_the_busiest_processes(tmp_path: Path) -> None:
    commands = healthy_commands()
    commands.answer(("smartctl", "-H", "-n", "standby", "/dev/sdb"), 8, "smartctl-failed.txt")
    commands.answer(("smartctl", "-H", "-n", "standby", "/dev/nvme0n1"), 2, "smartctl-denied.txt")
    rounds = iter(
        [
            [ProcessUsage(1, "systemd", 10.0, 10_000), ProcessUsage(9, "mysqld", 100.0, 9_000_000)],
            [ProcessUsage(1, "systemd", 10.0, 10_000), ProcessUsage(9, "mysqld", 101.0, 9_000_000)],
        ]
    )
    agent = inspector(
        make_host(tmp_path, commands=commands),
        list_procs=lambda: next(rounds),
        sleep=lambda _s: None,
    )
    obs = agent.inspect(full=True)
    assert obs.meta["inspection"] == "full"
    assert value(obs, "disk_smart_ok", disk="sda") == 1
    assert value(obs, "disk_smart_ok", disk="sdb") == 0
    assert value(obs, "disk_smart_ok", disk="nvme0n1") is None
    assert "Permission denied" in obs.meta["unknown.disk_smart_ok[nvme0n1]"]
    assert value(obs, "process_memory_bytes", process="mysqld", pid="9") == 9_000_000
    assert [s.labels["process"] for s in obs.values("process_cpu_ratio")] == ["mysqld"]
    assert 0 < (value(obs, "process_cpu_ratio", process="mysqld") or 0) <= 1


def test_reboot_is_told_from_an_agent_restart(tmp_path: Path, host_copy: Path) -> None:
    memory = BootMemory(tmp_path / "boot_id")
    host = make_host(tmp_path, proc_root=host_copy / "proc")
    assert value(inspector(host, boot_memory=memory).inspect(), "rebooted") is None  # first run
    assert value(inspector(host, boot_memory=memory).inspect(), "rebooted") == 0  # restart
    (host_copy / "proc" / "sys" / "kernel" / "random" / "boot_id").write_text("new-boot\n")
    assert value(inspector(host, boot_memory=memory).inspect(), "rebooted") == 1
    assert value(inspector(host, boot_memory=memory).inspect(), "rebooted") == 0


def test_meta_values_and_names_are_fit_for_the_wire(tmp_path: Path) -> None:
    obs = inspector(make_host(tmp_path, commands=healthy_commands())).inspect(full=False)
    assert all(isinstance(v, str) for v in obs.meta.values())
    assert all(re.match(r"^(unknown\.)?[a-z_]+(\[.*\])?$", k) for k in obs.meta)
    again = Observation.model_validate_json(obs.model_dump_json())
    assert again == obs


def test_busiest_processes_come_from_proc_by_default(tmp_path: Path, host_copy: Path) -> None:
    host = make_host(tmp_path, proc_root=host_copy / "proc")
    stat = host_copy / "proc" / "42" / "stat"

    def busier(_seconds: float) -> None:  # 1 s of CPU (100 ticks) during the window
        fields = stat.read_text().split()
        fields[16] = str(int(fields[16]) + 100)  # stime, after the 3-word command name
        stat.write_text(" ".join(fields) + "\n")

    obs = inspector(host, sleep=busier).inspect(full=True)
    assert [s.labels["process"] for s in obs.values("process_cpu_ratio")] == ["my (odd) name"]
    biggest = obs.values("process_memory_bytes")[0]
    assert (biggest.labels, biggest.value) == ({"process": "systemd", "pid": "1"}, 3000 * 4096)
