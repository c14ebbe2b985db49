"""The /proc readers against the fixture machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.procfs import ProcReader
from tests.agent.conftest import HOST

PROC = ProcReader(HOST / "proc", clock_ticks=100)


def test_cpu_times_are_seconds_of_all_cpus_without_guest_counted_twice() -> None:
    times, btime = PROC.cpu_times()
    assert (times.user, times.idle, times.iowait, times.steal) == (100.0, 800.0, 15.0, 1.0)
    assert times.cpus == 2
    assert times.total == pytest.approx(100 + 2 + 30 + 800 + 15 + 0 + 3 + 1)
    assert btime == 1795300000


def test_memory_in_bytes_and_the_old_kernel_estimate(tmp_path: Path) -> None:
    memory = PROC.memory()
    assert memory.total_bytes == 8_000_000 * 1024
    assert memory.available_bytes == 2_000_000 * 1024
    assert (memory.swap_total_bytes, memory.swap_free_bytes) == (2_000_000 * 1024, 1_500_000 * 1024)
    old = tmp_path / "meminfo"
    old.write_text("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")
    assert ProcReader(tmp_path).memory().available_bytes == 400 * 1024


def test_load_uptime_boot_id_and_hostname() -> None:
    assert PROC.load().load1 == 1.5
    assert PROC.uptime() == 3600.5
    assert PROC.boot_id() == "6f1c2a3e-1b2c-4d5e-8f90-0a1b2c3d4e5f"
    assert PROC.hostname() == "hq-db-01"


def test_disk_counters_only_for_the_disks_asked_and_in_bytes() -> None:
    disks = {d.disk: d for d in PROC.disk_counters({"sda", "nvme0n1"})}
    assert set(disks) == {"sda", "nvme0n1"}
    sda = disks["sda"]
    assert (sda.reads, sda.writes) == (1000, 2000)
    assert (sda.read_bytes, sda.written_bytes) == (20000 * 512, 40000 * 512)
    assert sda.io_seconds == 1.5
    assert len(PROC.disk_counters(None)) == 7


def test_interface_counters() -> None:
    eth0 = next(i for i in PROC.interface_counters() if i.name == "eth0")
    assert (eth0.receive_bytes, eth0.transmit_bytes) == (1_000_000, 2_000_000)
    assert (eth0.receive_errors, eth0.transmit_errors) == (5, 1)
    assert (eth0.receive_drops, eth0.transmit_drops) == (2, 0)
    assert eth0.oper_up is None  # link state comes from /sys, not from here


def test_mounts_decode_spaces() -> None:
    mounts = {m[1]: m for m in PROC.mounts()}
    assert mounts["/mnt/back up"] == ("/dev/sdb1", "/mnt/back up", "ext4", ("ro", "relatime"))


def test_process_counts_read_the_state_after_the_last_parenthesis() -> None:
    counts = PROC.process_counts()
    assert (counts.total, counts.zombie) == (4, 2)


def test_missing_files_raise_and_a_missing_mdstat_means_no_md_driver(tmp_path: Path) -> None:
    empty = ProcReader(tmp_path)
    assert empty.mdstat() is None
    with pytest.raises(OSError):
        empty.cpu_times()
    (tmp_path / "stat").write_text("intr 1\n")
    with pytest.raises(ValueError, match="cpu"):
        empty.cpu_times()


def test_process_usage_reads_the_command_name_cpu_time_and_resident_memory() -> None:
    usage = {p.pid: p for p in ProcReader(HOST / "proc", clock_ticks=100, page_size=4096)
             .process_usage()}  # fmt: skip
    assert set(usage) == {1, 42, 77, 78}
    assert usage[1].name == "systemd"
    assert (usage[1].cpu_seconds, usage[1].rss_bytes) == (5.0, 3000 * 4096)
    assert usage[42].name == "my (odd) name" and usage[42].cpu_seconds == 0.02
