"""A fixture machine for the agent's readers: ``fixtures/host`` stands in for /proc, /sys
and /etc, :class:`StandInPsutil` for psutil (with the same machine's values), canned
outputs for systemctl, chronyc, timedatectl and smartctl, and a table for statvfs.
Nothing here reads the machine the tests run on (``test_live.py`` does, on purpose)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.commands import CommandOutput, CommandUnavailable
from agent.filesystems import FilesystemReader
from agent.host import Host
from agent.probes import Probes
from agent.procfs import ProcReader
from agent.sysfs import SysReader
from agent.system import SystemReader
from tests.agent.stand_in import StandInPsutil

FIXTURES = Path(__file__).parent / "fixtures"
HOST = FIXTURES / "host"
GiB = 1024**3


def statvfs_result(
    size: int, free: int, avail: int, files: int = 1000, ffree: int = 900
) -> os.statvfs_result:
    block = 4096
    return os.statvfs_result(
        (block, block, size // block, free // block, avail // block, files, ffree, ffree, 0, 255)
    )


# What the fixture mounts hold; /mnt/nfs and /mnt/back up are added or not per test.
STATVFS = {
    "/": statvfs_result(100 * GiB, 30 * GiB, 25 * GiB, files=1000, ffree=800),
    "/data": statvfs_result(500 * GiB, 20 * GiB, 20 * GiB, files=0, ffree=0),
    "/mnt/back up": statvfs_result(10 * GiB, 5 * GiB, 5 * GiB),
    "/mnt/nfs": statvfs_result(1000 * GiB, 900 * GiB, 900 * GiB),
}


def table_statvfs(table: dict[str, os.statvfs_result]) -> Callable[[str], os.statvfs_result]:
    def statvfs(path: str) -> os.statvfs_result:
        if path not in table:
            raise FileNotFoundError(2, "No such file or directory", path)
        return table[path]

    return statvfs


@dataclass
class FakeCommands:
    """Programs by name: an output file (with its exit status) or an exception to raise."""

    outputs: dict[tuple[str, ...], tuple[int, str] | Exception] = field(default_factory=dict)
    installed: set[str] = field(default_factory=set)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def answer(self, argv: Sequence[str], returncode: int, fixture: str | None = None) -> None:
        text = (FIXTURES / "commands" / fixture).read_text() if fixture else ""
        self.outputs[tuple(argv)] = (returncode, text)
        self.installed.add(argv[0])

    def run(self, argv: Sequence[str], timeout: float) -> CommandOutput:
        self.calls.append(tuple(argv))
        answer = self.outputs.get(tuple(argv))
        if answer is None:
            raise CommandUnavailable(f"{argv[0]} is not installed")
        if isinstance(answer, Exception):
            raise answer
        return CommandOutput(returncode=answer[0], stdout=answer[1])

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.installed else None


def run_root(tmp_path: Path, systemd: bool) -> Path:
    root = tmp_path / "run"
    root.mkdir(exist_ok=True)
    if systemd:
        (root / "systemd" / "system").mkdir(parents=True, exist_ok=True)
    return root


class Ticker:
    """A monotonic clock that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make_host(
    tmp_path: Path,
    *,
    commands: FakeCommands | None = None,
    systemd: bool = True,
    proc_root: Path = HOST / "proc",
    sys_root: Path = HOST / "sys",
    statvfs: dict[str, os.statvfs_result] | None = None,
    monotonic: Ticker | None = None,
    ps: StandInPsutil | None = None,
    wall_time: float = 1_795_303_600.5,
) -> Host:
    """The fixture machine; ``ps`` (the psutil stand-in) may be shared with the test,
    which moves its counters; uptime is ``wall_time`` less the stand-in's boot time."""
    commands = commands or FakeCommands()
    table = table_statvfs(statvfs or STATVFS)
    ps = ps or StandInPsutil(statvfs=table)
    system = SystemReader(ps, wall_time=lambda: wall_time)
    return Host(
        system=system,
        proc=ProcReader(proc_root),
        sysfs=SysReader(sys_root),
        filesystems=FilesystemReader(ps, statvfs=table),
        probes=Probes(
            run=commands.run,
            which=commands.which,
            run_root=run_root(tmp_path, systemd),
            ttl=30.0,
            monotonic=monotonic or Ticker(),
        ),
        monotonic=monotonic or Ticker(),
    )


def healthy_commands() -> FakeCommands:
    commands = FakeCommands()
    commands.answer(
        ("systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"),
        0,
        "systemctl-failed.txt",
    )
    commands.answer(("chronyc", "-c", "tracking"), 0, "chronyc-tracking.csv")
    for disk in ("sda", "sdb", "nvme0n1"):
        commands.answer(
            ("smartctl", "-H", "-n", "standby", f"/dev/{disk}"), 0, "smartctl-passed.txt"
        )
    return commands


@pytest.fixture
def stand_in() -> StandInPsutil:
    """psutil standing in for the fixture machine, for tests that move its counters."""
    return StandInPsutil(statvfs=table_statvfs(STATVFS))


@pytest.fixture
def host_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture machine, for tests that move its counters."""
    target = tmp_path / "host"
    shutil.copytree(HOST, target)
    return target
