"""The real psutil path on the machine the tests run on, compared with the kernel's own
files and with ``df``.

Everywhere else the tests feed the agent a fixture machine. psutil is a library, not a
peer that could be started on loopback, so this is where its real answers are checked:
only against what the same machine says through another door, within tolerances for
what moves between two readings, and never against fixed values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from agent.filesystems import PSEUDO_FS
from agent.host import Host
from agent.system import SystemReader, watched_interface

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def host() -> Host:
    return Host.local()


def meminfo() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0]) * 1024
    return fields


def test_memory_matches_proc_meminfo(host: Host) -> None:
    memory = host.system.memory()
    kernel = meminfo()
    assert memory.total_bytes == kernel["MemTotal"]
    assert abs(memory.available_bytes - kernel["MemAvailable"]) < max(
        64 * MiB, kernel["MemTotal"] // 20
    )
    assert memory.swap_total_bytes == kernel["SwapTotal"]
    assert abs(memory.swap_free_bytes - kernel["SwapFree"]) < 64 * MiB


def test_uptime_matches_proc_uptime(host: Host) -> None:
    booted, uptime = host.system.boot()
    kernel = float(Path("/proc/uptime").read_text().split()[0])
    assert abs(uptime - kernel) < 2.0  # psutil's boot time is to the second
    assert abs(booted + kernel - time.time()) < 2.0


def df_filesystems() -> dict[str, tuple[str, int, int, int]]:
    """``df -PT``: mount point -> (device, size, used, available in KiB), real
    filesystems only."""
    done = subprocess.run(
        ["df", "-PT"],  # -P: one line per filesystem; -T: its type
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    found = {}
    for line in done.stdout.splitlines()[1:]:
        device, fstype, size, used, avail, _capacity, mountpoint = line.split(maxsplit=6)
        if fstype not in PSEUDO_FS and int(size) > 0:
            found[mountpoint] = (device, int(size), int(used), int(avail))
    return found


@pytest.mark.skipif(shutil.which("df") is None, reason="no df on this machine")
def test_filesystems_match_df(host: Host) -> None:
    ours, notes = host.filesystems.read()
    theirs = df_filesystems()
    # Both show a filesystem mounted twice once, each perhaps under another of its mount
    # points: a mount point only one of them lists must be a device the other has.
    our_mounts = {fs.mountpoint for fs in ours}
    for mountpoint, (device, *_) in theirs.items():
        known = mountpoint in our_mounts or mountpoint in notes
        assert known or device in {fs.device for fs in ours}, f"df lists {mountpoint}"
    for fs in ours:
        assert fs.mountpoint in theirs or fs.device in {d for d, *_ in theirs.values()}
    compared = [fs for fs in ours if fs.mountpoint in theirs]
    assert compared, "no real filesystem found"
    for fs in compared:
        _device, size, used, avail = theirs[fs.mountpoint]
        assert fs.size_bytes // 1024 == size, fs.mountpoint
        slack = 64 * 1024  # KiB written or freed by others between the two readings
        assert abs((fs.size_bytes - fs.free_bytes) // 1024 - used) < slack, fs.mountpoint
        assert abs(fs.avail_bytes // 1024 - avail) < slack, fs.mountpoint
        inodes = os.statvfs(fs.mountpoint)  # XFS sizes its inode table to the free space
        assert abs(fs.files - inodes.f_files) <= max(1000, inodes.f_files // 100)


def test_network_and_disk_counters_only_grow(host: Host) -> None:
    system = host.system
    nics_before = {i.name: i for i in system.interface_counters()}
    disks_before = {d.disk: d for d in system.disk_counters(host.sysfs.whole_disks())}
    Path("/proc/self/stat").read_bytes()  # a little I/O between the two readings
    nics_after = {i.name: i for i in system.interface_counters()}
    disks_after = {d.disk: d for d in system.disk_counters(host.sysfs.whole_disks())}
    kernel_nics = {
        line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]
    }
    assert set(nics_before) == {n for n in kernel_nics if watched_interface(n)}
    for name, before in nics_before.items():
        after = nics_after[name]
        for field in ("receive_bytes", "transmit_bytes", "receive_errors", "receive_drops"):
            assert getattr(after, field) >= getattr(before, field), (name, field)
    for name, before in disks_before.items():
        after = disks_after[name]
        assert after.read_bytes >= before.read_bytes and after.io_seconds >= before.io_seconds


def test_link_state_matches_the_kernels_flags(host: Host) -> None:
    for name, (_oper, admin, _speed) in host.system.links().items():
        flags = Path(f"/sys/class/net/{name}/flags")
        if flags.exists():
            assert admin == bool(int(flags.read_text(), 16) & 0x1), name


def test_process_count_and_our_own_cpu_share(host: Host) -> None:
    system = SystemReader()
    system.processes("prime")
    started = time.process_time()
    while time.process_time() - started < 0.3:  # keep one CPU busy for 0.3 s
        pass
    counts, usage = system.processes("measure")
    listed = sum(1 for name in os.listdir("/proc") if name.isdigit())
    assert abs(counts.total - listed) <= 20 and 0 <= counts.zombie <= counts.total
    me = next(p for p in usage if p.pid == os.getpid())
    assert me.cpu_ratio > 0
    rss = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                   if line.startswith("VmRSS:")).split()[1]) * 1024  # fmt: skip
    assert abs(me.rss_bytes - rss) < 16 * MiB


def test_a_whole_snapshot_of_this_machine(host: Host) -> None:
    snap = host.snapshot(processes="prime")
    assert snap.cpu is not None and snap.cpu.cpus >= 1
    assert snap.load is not None and snap.memory is not None and snap.processes is not None
    for name in ("cpu_usage_ratio", "load1", "memory_usage_ratio", "uptime_seconds"):
        assert name not in snap.unknown, snap.unknown[name]
