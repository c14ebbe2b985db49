"""What the agent makes of psutil's answers.

psutil is a library boundary, not a peer (there is no psutil server to start): most
tests here feed psutil's own namedtuple types through :class:`StandInPsutil`; the last
ones have the real psutil read the fixture tree through ``psutil.PROCFS_PATH``, and
``test_live.py`` compares the real thing with this machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psutil
import pytest

from agent.snapshot import ProcessUsage
from agent.system import SystemReader, watched_interface
from tests.agent.conftest import HOST
from tests.agent.stand_in import StandInProcess, StandInPsutil

WALL = 1_795_303_600.5  # an hour and half a second after the fixture machine booted


def reader(stand_in: StandInPsutil) -> SystemReader:
    return SystemReader(stand_in, wall_time=lambda: WALL)


def test_cpu_times_are_seconds_of_all_cpus_without_guest_counted_twice(
    stand_in: StandInPsutil,
) -> None:
    times = reader(stand_in).cpu_times()
    assert (times.user, times.idle, times.iowait, times.steal) == (100.0, 800.0, 15.0, 1.0)
    assert times.cpus == 2
    assert times.total == pytest.approx(100 + 2 + 30 + 800 + 15 + 0 + 3 + 1)  # no guest
    stand_in.cpus = None  # psutil could not tell
    assert reader(stand_in).cpu_times().cpus == 1


def test_load_memory_swap_and_uptime(stand_in: StandInPsutil) -> None:
    system = reader(stand_in)
    assert system.load().load1 == 1.5
    memory = system.memory()
    assert (memory.total_bytes, memory.available_bytes) == (8_000_000 * 1024, 2_000_000 * 1024)
    assert (memory.swap_total_bytes, memory.swap_free_bytes) == (2_000_000 * 1024, 1_500_000 * 1024)
    assert system.boot() == (1_795_300_000.0, 3600.5)
    stand_in.booted = WALL + 5  # a clock stepped back after boot: never a negative uptime
    assert system.boot()[1] == 0


def test_disk_counters_only_for_the_disks_asked_and_in_bytes(stand_in: StandInPsutil) -> None:
    system = reader(stand_in)
    disks = {d.disk: d for d in system.disk_counters({"sda", "nvme0n1"})}
    assert set(disks) == {"sda", "nvme0n1"}
    sda = disks["sda"]
    assert (sda.reads, sda.writes) == (1000, 2000)
    assert (sda.read_bytes, sda.written_bytes) == (20000 * 512, 40000 * 512)
    assert sda.io_seconds == 1.5  # psutil's busy_time is milliseconds
    assert len(system.disk_counters(None)) == 7


def test_interface_counters_leave_out_loopback_and_container_interfaces(
    stand_in: StandInPsutil,
) -> None:
    nics = {i.name: i for i in reader(stand_in).interface_counters()}
    assert set(nics) == {"eth0", "eth1", "bond0"}
    eth0 = nics["eth0"]
    assert (eth0.receive_bytes, eth0.transmit_bytes) == (1_000_000, 2_000_000)
    assert (eth0.receive_errors, eth0.transmit_errors) == (5, 1)
    assert (eth0.receive_drops, eth0.transmit_drops) == (2, 0)
    assert eth0.oper_up is None  # link state is another call: Host puts them together


@pytest.mark.parametrize(
    ("name", "watched"),
    [
        ("eth0", True),
        ("bond0", True),
        ("ens3", True),
        ("lo", False),
        ("veth1a2b3c", False),
        ("docker0", False),
        ("br-0123456789ab", False),
        ("cali12ab", False),
    ],
)
def test_which_interfaces_are_watched(name: str, watched: bool) -> None:
    assert watched_interface(name) is watched


def test_link_state_from_the_kernel_flags(stand_in: StandInPsutil) -> None:
    links = reader(stand_in).links()
    assert links["eth0"] == (True, True, 1e9)
    assert links["eth1"] == (False, False, None)  # not enabled, no speed
    assert links["bond0"] == (True, True, 2e9)
    assert links["lo"] == (True, True, None)  # no carrier to lose: running, speed unknown


def test_process_counts_without_touching_cpu_measures(stand_in: StandInPsutil) -> None:
    counts, usage = reader(stand_in).processes("count")
    assert (counts.total, counts.zombie) == (4, 2)
    assert usage == [] and not any(p.primed for p in stand_in.procs)


def test_measured_processes_share_all_cpus_since_the_previous_scan(
    stand_in: StandInPsutil,
) -> None:
    system = reader(stand_in)
    _, usage = system.processes("prime")
    assert usage == [] and stand_in.procs[0].primed
    stand_in.procs[0].percent = 50.0  # half of one CPU, of two
    stand_in.procs[1].percent = 300.0  # psutil's rounding on a busy machine: capped
    _, usage = system.processes("measure")
    assert usage == [
        ProcessUsage(pid=1, name="systemd", cpu_ratio=0.25, rss_bytes=3000 * 4096),
        ProcessUsage(pid=42, name="my (odd) name", cpu_ratio=1.0, rss_bytes=500 * 4096),
    ]  # zombies use neither CPU nor memory


def test_processes_that_exit_or_hide_during_the_scan(stand_in: StandInPsutil) -> None:
    gone = StandInProcess(90, "short-lived", gone=True)

    class Hidden(StandInProcess):
        def status(self) -> str:
            raise psutil.AccessDenied(self.pid)

    class Dying(StandInProcess):
        def cpu_percent(self, interval: float | None = None) -> float:
            raise psutil.ZombieProcess(self.pid)

    stand_in.procs += [gone, Hidden(91, "hidden"), Dying(92, "dying")]
    counts, usage = reader(stand_in).processes("measure")
    assert (counts.total, counts.zombie) == (5, 3)
    assert [p.pid for p in usage] == [1, 42]


def test_a_process_title_never_leaves_beyond_the_kernels_15_characters(
    stand_in: StandInPsutil,
) -> None:
    # psutil completes a 15-character name from the command line's first word, which a
    # program that set its own title may have filled with its arguments.
    stand_in.procs = [StandInProcess(7, "celery worker --password=hunter2", rss=1)]
    _, usage = reader(stand_in).processes("measure")
    assert [p.name for p in usage] == ["celery worker -"]


def test_temperatures_named_by_chip_and_label_kept_apart_when_chips_repeat(
    stand_in: StandInPsutil,
) -> None:
    assert reader(stand_in).temperatures() == [
        ("coretemp/Package id 0", 45.0),
        ("coretemp/temp2", 43.5),  # no label: its place in the chip's list
        ("coretemp/Package id 0#2", 47.0),  # the second coretemp chip
        ("nct6775/SYSTIN", 38.0),
    ]
    stand_in.temperatures = {}
    assert reader(stand_in).temperatures() == []


# The real psutil, reading the fixture tree as it reads the kernel's /proc.


@pytest.fixture
def psutil_on_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[SystemReader]:
    psutil.process_iter.cache_clear()  # Process objects made under the real /proc
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(HOST / "proc"))
    try:
        yield SystemReader(wall_time=lambda: WALL)
    finally:
        psutil.process_iter.cache_clear()  # ... and those made under the fixture tree


def test_psutil_reads_the_fixture_proc_as_the_stand_in_says(
    psutil_on_fixture: SystemReader, stand_in: StandInPsutil
) -> None:
    real, standing_in = psutil_on_fixture, reader(stand_in)
    assert real.cpu_times().total == pytest.approx(standing_in.cpu_times().total)
    assert real.cpu_times().iowait == standing_in.cpu_times().iowait == 15.0
    assert real.memory() == standing_in.memory()
    assert real.boot() == standing_in.boot()
    assert real.disk_counters(None) == standing_in.disk_counters(None)
    assert real.interface_counters() == standing_in.interface_counters()


def test_psutil_scans_the_fixture_processes(psutil_on_fixture: SystemReader) -> None:
    counts, _ = psutil_on_fixture.processes("prime")
    assert (counts.total, counts.zombie) == (4, 2)
    _, usage = psutil_on_fixture.processes("measure")
    by_pid = {p.pid: p for p in usage}
    assert set(by_pid) == {1, 42}
    assert by_pid[42].name == "my (odd) name"
    assert by_pid[1].rss_bytes == 3000 * os.sysconf("SC_PAGE_SIZE")  # statm counts pages
    assert all(p.cpu_ratio == 0 for p in usage)  # the fixture's counters stand still
