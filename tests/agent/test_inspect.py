"""Inspections of the fixture machine speak the shared vocabulary, with sane values, and
are what ``weibao.observation.Observation`` (the one definition of the format) accepts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.host import Host
from agent.identity import BootMemory, Identity, read_identity
from agent.inspect import Inspector
from tests.agent.conftest import HOST, Ticker, healthy_commands, make_host
from tests.agent.stand_in import StandInProcess, StandInPsutil
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


def run(agent: Inspector, full: bool = False) -> Observation:
    """One inspection as the desk reads it: the agent's dict, sent as JSON, validated by
    the desk's model, whose own dump must be that very dict (nothing added, dropped or
    changed on the way)."""
    wire = agent.inspect(full=full)
    obs = Observation.model_validate_json(json.dumps(wire))
    assert obs.model_dump(mode="json") == wire
    return obs


def value(obs: Observation, name: str, **labels: str) -> float | None:
    return obs.value(name, **labels)


def test_health_inspection_speaks_the_vocabulary(tmp_path: Path) -> None:
    obs = run(inspector(make_host(tmp_path, commands=healthy_commands())))
    assert obs.device == "hq-db-01" and obs.source == "agent" and obs.time == NOW
    for sample in obs.samples:
        assert sample.name in BY_NAME, sample.name
        assert tuple(sorted(sample.labels)) == labels_of(sample.name), sample
        if sample.name.endswith("_ratio"):
            assert 0 <= sample.value <= 1, sample
    names = {s.name for s in obs.samples}
    assert "disk_smart_ok" not in names and "process_cpu_ratio" not in names  # full only


def test_health_values_from_the_fixture_machine(tmp_path: Path) -> None:
    obs = run(inspector(make_host(tmp_path, commands=healthy_commands())))
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
    obs = run(inspector(make_host(tmp_path)))
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
    obs = run(inspector(make_host(tmp_path, systemd=False)))
    assert value(obs, "systemd_failed_units") is None
    assert obs.meta["unknown.systemd_failed_units"] == "systemd is not running on this machine"
    assert value(obs, "clock_offset_seconds") is None
    assert "unknown.clock_offset_seconds" in obs.meta


def test_a_missing_reader_costs_only_its_part(tmp_path: Path, stand_in: StandInPsutil) -> None:
    stand_in.failing["virtual_memory"] = FileNotFoundError(
        2, "No such file or directory", "/proc/meminfo"
    )
    stand_in.failing["getloadavg"] = OSError(5, "Input/output error")
    stand_in.failing["sensors_temperatures"] = RuntimeError("no 'name' file in hwmon3")
    obs = run(inspector(make_host(tmp_path, ps=stand_in)))
    assert value(obs, "up") == 1 and value(obs, "uptime_seconds") == 3600.5
    assert value(obs, "memory_usage_ratio") is None and value(obs, "load1") is None
    assert obs.meta["unknown.memory_usage_ratio"] == "No such file or directory (/proc/meminfo)"
    assert obs.meta["unknown.load1"] == "Input/output error"
    assert obs.meta["unknown.temperature_celsius"] == "no 'name' file in hwmon3"
    assert value(obs, "fan_ok", fan="nct6775/fan3") == 0  # the fans are another reader


def test_link_state_unknown_keeps_the_counters(tmp_path: Path, stand_in: StandInPsutil) -> None:
    stand_in.failing["net_if_stats"] = OSError(19, "No such device")
    ticker = Ticker()
    agent = inspector(make_host(tmp_path, ps=stand_in, monotonic=ticker))
    agent.prime()
    ticker.now += 10
    obs = run(agent)
    assert value(obs, "interface_up", interface="eth0") is None
    assert value(obs, "interface_bits_rate", interface="eth0", direction="in") is not None
    assert obs.meta["unknown.interface_up"] == "No such device"


def test_rates_from_two_snapshots(tmp_path: Path, stand_in: StandInPsutil) -> None:
    ticker = Ticker()
    agent = inspector(make_host(tmp_path, ps=stand_in, monotonic=ticker))
    agent.prime()
    sda, eth0, cpu = stand_in.disks["sda"], stand_in.nics["eth0"], stand_in.times
    stand_in.disks["sda"] = sda._replace(
        read_bytes=sda.read_bytes + 10_240_000,  # 10 MB in 10 s
        busy_time=sda.busy_time + 2_500,  # 2.5 s busy in 10 s
    )
    stand_in.nics["eth0"] = eth0._replace(
        bytes_recv=eth0.bytes_recv + 5_000, errin=eth0.errin + 30, dropout=eth0.dropout + 10
    )
    stand_in.times = cpu._replace(  # user: 6 s of 20 s
        user=cpu.user + 6, idle=cpu.idle + 12, iowait=cpu.iowait + 2
    )
    ticker.now += 10
    obs = run(agent)
    assert value(obs, "disk_read_bytes_rate", disk="sda") == 1_024_000
    assert value(obs, "disk_write_bytes_rate", disk="sda") == 0
    assert value(obs, "disk_busy_ratio", disk="sda") == 0.25
    assert value(obs, "interface_bits_rate", interface="eth0", direction="in") == 500 * 8
    assert value(obs, "interface_errors_rate", interface="eth0", direction="in") == 3
    assert value(obs, "interface_discards_rate", interface="eth0", direction="out") == 1
    assert value(obs, "cpu_usage_ratio") == 0.3
    assert value(obs, "cpu_iowait_ratio") == 0.1


def test_a_counter_reset_gives_no_rate_never_a_negative_one(
    tmp_path: Path, stand_in: StandInPsutil
) -> None:
    ticker = Ticker()
    agent = inspector(make_host(tmp_path, ps=stand_in, monotonic=ticker))
    agent.prime()
    eth0 = stand_in.nics["eth0"]
    stand_in.nics["eth0"] = eth0._replace(bytes_recv=eth0.bytes_recv - 900_000)  # driver reload
    stand_in.times = stand_in.times._replace(idle=stand_in.times.idle - 1)  # a CPU went offline
    ticker.now += 10
    obs = run(agent)
    assert value(obs, "interface_bits_rate", interface="eth0", direction="in") is None
    assert value(obs, "interface_bits_rate", interface="eth0", direction="out") == 0
    assert value(obs, "cpu_usage_ratio") is None
    assert all(s.value >= 0 for s in obs.samples if s.name.endswith("_rate"))


def test_first_inspection_without_prime_leaves_rates_out(tmp_path: Path) -> None:
    obs = run(inspector(make_host(tmp_path)))
    assert not [s for s in obs.samples if s.name.endswith("_rate")]
    assert value(obs, "cpu_usage_ratio") is None


def test_full_inspection_adds_smart_and_the_busiest_processes(
    tmp_path: Path, stand_in: StandInPsutil
) -> None:
    commands = healthy_commands()
    commands.answer(("smartctl", "-H", "-n", "standby", "/dev/sdb"), 8, "smartctl-failed.txt")
    commands.answer(("smartctl", "-H", "-n", "standby", "/dev/nvme0n1"), 2, "smartctl-denied.txt")
    mysqld = StandInProcess(9, "mysqld", rss=9_000_000)
    stand_in.procs.append(mysqld)
    agent = inspector(make_host(tmp_path, commands=commands, ps=stand_in))
    agent.prime()  # what the runner does at start, a second before the first inspection
    mysqld.percent = 100.0  # one CPU of the two, since then
    obs = run(agent, full=True)
    assert obs.meta["inspection"] == "full"
    assert value(obs, "disk_smart_ok", disk="sda") == 1
    assert value(obs, "disk_smart_ok", disk="sdb") == 0
    assert value(obs, "disk_smart_ok", disk="nvme0n1") is None
    assert "Permission denied" in obs.meta["unknown.disk_smart_ok[nvme0n1]"]
    assert [s.labels for s in obs.values("process_cpu_ratio")] == [
        {"process": "mysqld", "pid": "9"}  # the idle ones are not "busiest"
    ]
    assert value(obs, "process_cpu_ratio", process="mysqld", pid="9") == 0.5
    biggest = obs.values("process_memory_bytes")
    assert [(s.labels["process"], s.value) for s in biggest] == [
        ("systemd", 3000 * 4096),
        ("mysqld", 9_000_000),
        ("my (odd) name", 500 * 4096),
    ]  # zombies have no memory of their own


def test_every_inspection_starts_the_cpu_measure_the_full_one_reads(
    tmp_path: Path, stand_in: StandInPsutil
) -> None:
    agent = inspector(make_host(tmp_path, ps=stand_in))
    health = run(agent)
    assert not health.values("process_cpu_ratio")  # health inspections list no processes
    assert all(p.primed for p in stand_in.procs if p.state != "zombie")
    stand_in.procs[1].percent = 20.0  # since the health inspection
    full = run(agent, full=True)
    assert value(full, "process_cpu_ratio", process="my (odd) name", pid="42") == 0.1


def test_reboot_is_told_from_an_agent_restart(tmp_path: Path, host_copy: Path) -> None:
    memory = BootMemory(tmp_path / "boot_id")
    host = make_host(tmp_path, proc_root=host_copy / "proc")
    assert value(run(inspector(host, boot_memory=memory)), "rebooted") is None  # first run
    assert value(run(inspector(host, boot_memory=memory)), "rebooted") == 0  # restart
    (host_copy / "proc" / "sys" / "kernel" / "random" / "boot_id").write_text("new-boot\n")
    assert value(run(inspector(host, boot_memory=memory)), "rebooted") == 1
    assert value(run(inspector(host, boot_memory=memory)), "rebooted") == 0


def test_meta_values_and_names_are_fit_for_the_wire(tmp_path: Path) -> None:
    obs = run(inspector(make_host(tmp_path, commands=healthy_commands())), full=True)
    assert all(isinstance(v, str) for v in obs.meta.values())
    assert all(re.match(r"^(unknown\.)?[a-z_]+(\[.*\])?$", k) for k in obs.meta)
    assert obs.time == NOW and obs.source == "agent" and obs.ok and obs.error is None


def test_every_observation_has_its_own_id(tmp_path: Path) -> None:
    agent = inspector(make_host(tmp_path))
    assert len({run(agent).id for _ in range(3)}) == 3
