"""The simulated SNMP fleet and what each client reads from it.

A fleet is several net-snmp ``snmpd`` processes, each answering on many loopback
addresses (``127.77.X.Y``, one port for all): a device is one address. snmpsim serves
real device *content* but burns ~17 ms CPU per poll, too slow to load a collector with
hundreds of devices a second; snmpd costs a fraction of that, and every device shows the
same tables (this machine's interfaces, storage and load).

:func:`read_plan` derives the OIDs from weibao's own ``net-snmp`` profile, so the net-snmp
CLI and snmp_exporter are asked for what weibao reads, even after the profile changes.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.driver import Depth
from collector.snmp.oid import Oid, format_oid
from collector.snmp.profile_files import load_profiles
from collector.snmp.readers.system import SYSTEM_OIDS

COMMUNITY = "weibao-bench"  # throwaway, loopback only; also in snmp_exporter.yml
PER_AGENT = 64  # addresses per snmpd: enough agents to use both cores, few sockets each
START_SECONDS = 15.0
PROFILE = "net-snmp"
_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pids: Iterable[int]) -> float:
    """User+system seconds of running processes and of the children they have reaped
    (fields 14-17 of /proc/PID/stat: sshd's per-connection processes count)."""
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        total += sum(int(f) for f in fields[11:15])
    return total / _TICK


class Meter:
    """Around one timed pass: CPU of the watched peers (the agents, sshd) and the UDP
    datagrams the kernel dropped, anywhere on the machine, for a full receive buffer."""

    def __init__(self, watch: Iterable[int]) -> None:
        self.watch = list(watch)
        self.peer_cpu = 0.0
        self.udp_drops = 0

    def __enter__(self) -> Meter:
        self._cpu0, self._drops0 = process_cpu(self.watch), udp_receive_drops()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peer_cpu = process_cpu(self.watch) - self._cpu0
        self.udp_drops = udp_receive_drops() - self._drops0

    def figures(self) -> dict[str, float]:
        return {"peer_cpu": self.peer_cpu, "udp_drops": self.udp_drops}


def udp_receive_drops() -> int:
    """The kernel's count of UDP datagrams dropped for a full receive buffer, machine-wide."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()]
    udp = [ln for ln in lines if ln and ln[0] == "Udp:"]
    if len(udp) < 2 or "RcvbufErrors" not in udp[0]:
        return 0
    return int(udp[1][udp[0].index("RcvbufErrors")])


@dataclass(frozen=True)
class ReadPlan:
    """What one health check reads: weibao's exact columns, and the tables the CLI walks."""

    scalars: list[str]  # GET, dotted
    columns: list[str]  # weibao's column walks
    tables: list[str]  # one snmpbulkwalk each: a table when 2+ of its columns are read

    def describe(self) -> str:
        return (
            f"{len(self.scalars)} scalars; weibao walks {len(self.columns)} columns, "
            f"the CLI and snmp_exporter the {len(self.tables)} tables or columns they are in"
        )


def read_plan() -> ReadPlan:
    """The OIDs the ``net-snmp`` profile's readers ask for at health depth."""
    profile = load_profiles().profiles[PROFILE]
    scalars: list[Oid] = list(SYSTEM_OIDS)
    columns: list[Oid] = []
    for reader in profile.build_readers():
        scalars += [o for o in reader.gets() if o not in scalars]
        columns += [o for o in reader.walks(Depth.health) if o not in columns]
    return ReadPlan(
        scalars=[format_oid(o) for o in scalars],
        columns=[format_oid(o) for o in columns],
        tables=[format_oid(t) for t in _tables(columns)],
    )


def _tables(columns: Iterable[Oid]) -> list[Oid]:
    """A column's table is its OID without entry and column number; the CLI walks a whole
    table where weibao reads several of its columns, else just the one column."""
    by_table: dict[Oid, list[Oid]] = {}
    for column in columns:
        by_table.setdefault(column[:-2], []).append(column)
    out: list[Oid] = []
    for table, cols in by_table.items():
        out += [table] if len(cols) > 1 else cols
    return sorted(out)


@dataclass
class Fleet:
    """Running snmpd agents; ``targets`` are ``address:port``, one per device."""

    home: Path
    port: int
    targets: list[str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        stop_processes(self.procs)


def stop_processes(procs: Iterable[subprocess.Popen[Any]]) -> None:
    """Ask every process to end at once, then wait; kill one that will not within 5 s."""
    procs = list(procs)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def device_address(index: int) -> str:
    """Device ``index`` lives at 127.77.X.Y (Y in 1..250), well away from 127.0.0.1."""
    return f"127.77.{index // 250}.{index % 250 + 1}"


def agent_count(devices: int) -> int:
    return max(1, min(16, math.ceil(devices / PER_AGENT)))


def start_fleet(home: Path, devices: int) -> Fleet:
    """Start the agents (config, pid and persistent files under ``home``); wait for all."""
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(binary).exists():
        raise SystemExit("net-snmp's snmpd is not installed (apt-get install snmpd)")
    addresses = [device_address(i) for i in range(devices)]
    port = _free_port(addresses)
    env = {
        **os.environ,
        "MIBS": "",  # Debian ships no IETF MIBs; numeric OIDs everywhere
        "SNMPCONFPATH": str(home),
        "SNMP_PERSISTENT_DIR": str(home / "persist"),
    }
    (home / "persist").mkdir(parents=True, exist_ok=True)
    conf = home / "snmpd.conf"
    conf.write_text(
        f"[snmp] persistentDir {home / 'persist'}\n"
        f"rocommunity {COMMUNITY} 127.0.0.0/8\n"
        "dontLogTCPWrappersConnects yes\n",  # else one log line per request
        encoding="utf-8",
    )
    fleet = Fleet(home, port, [f"{a}:{port}" for a in addresses], env=env)
    agents = agent_count(devices)
    share = math.ceil(devices / agents)
    try:
        for n in range(agents):
            mine = addresses[n * share : (n + 1) * share]
            if not mine:
                break
            listen = ",".join(f"udp:{a}:{port}" for a in mine)
            fleet.procs.append(
                subprocess.Popen(
                    [binary, "-f", "-Lf", str(home / f"snmpd-{n}.log"), "-C", "-c", str(conf),
                     "-p", str(home / f"snmpd-{n}.pid"), listen],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        _wait_ready(fleet, [f"{addresses[min((n + 1) * share, devices) - 1]}:{port}"
                            for n in range(len(fleet.procs))])  # fmt: skip
    except BaseException:
        fleet.stop()
        raise
    return fleet


def _free_port(addresses: list[str]) -> int:
    """A UDP port free on every fleet address (the kernel picks one on the first)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((addresses[0], 0))
            port = int(sock.getsockname()[1])
        if all(_bindable(a, port) for a in addresses):
            return port
    raise SystemExit("no UDP port is free on all fleet addresses")


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def _wait_ready(fleet: Fleet, probes: list[str]) -> None:
    """Each agent answers on its last address (all of them are bound before serving)."""
    deadline = time.monotonic() + START_SECONDS
    pending = list(zip(fleet.procs, probes, strict=True))
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"snmpd did not answer on {pending[0][1]} within {START_SECONDS:g}s")
        proc, target = pending[0]
        if proc.poll() is not None:
            log = fleet.home / f"snmpd-{fleet.procs.index(proc)}.log"
            text = log.read_text(errors="replace")[-500:] if log.exists() else ""
            raise SystemExit(f"snmpd exited with {proc.returncode}: {text}")
        probe = subprocess.run(
            ["snmpget", "-v2c", "-c", COMMUNITY, "-r0", "-t0.3", target, "1.3.6.1.2.1.1.3.0"],
            env=fleet.env,
            capture_output=True,
            timeout=10,
        )
        if probe.returncode == 0:
            pending.pop(0)
