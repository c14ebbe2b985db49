"""weibao's SNMP driver next to net-snmp's command-line tools, on the same local snmpd.

    .venv/bin/python bench/snmp/bench_snmp.py [--rounds 30] [--concurrency 16] [--profile]

Starts a throwaway snmpd on a free 127.0.0.1 port (config, pid and persistent files in
a temp directory), then measures, in one run, per device inspection:

- ``weibao``: SnmpDriver health inspection with the net-snmp profile (system, IF-MIB
  columns, HOST-RESOURCES, UCD) over v2c and over v3 authPriv (SHA-256/AES-128 and
  SHA-512/AES-256), all on weibao's own codec, transport and USM;
- ``pysnmp-hlapi``: the plain high-level pysnmp approach (``bulk_walk_cmd`` of each
  table with ``lookupMib=False``), reading the same tables;
- ``net-snmp``: ``snmpget`` for the scalars plus one ``snmpbulkwalk`` per table (the tool
  walks only its first OID), in subprocesses;

and prints wall time and CPU per device, values read, the ratios to the CLI and v3's
CPU against v2c's in the same run. Loopback only.
``--profile`` runs only weibao v2c under cProfile and prints where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collector.driver import Depth
from collector.snmp.driver import SnmpDriver
from weibao.inventory.model import SnmpInspection

COMMUNITY, KEY, PRIV = "bench-community", "bench-auth-key", "bench-priv-key"
TABLES = [
    "1.3.6.1.2.1.2.2",  # ifTable
    "1.3.6.1.2.1.31.1.1",  # ifXTable
    "1.3.6.1.2.1.25.2.3",  # hrStorageTable
    "1.3.6.1.2.1.25.3.3",  # hrProcessorTable
    "1.3.6.1.4.1.2021.10.1.5",  # laLoadInt
]
SCALARS = [
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.5.0",
    *(f"1.3.6.1.4.1.2021.4.{c}.0" for c in (3, 4, 5, 6, 14, 15)),
    "1.3.6.1.4.1.2021.11.11.0",
]


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def start_snmpd(home: Path) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    (home / "persist").mkdir()
    conf = home / "snmpd.conf"
    conf.write_text(
        f"[snmp] persistentDir {home / 'persist'}\n"
        f"rocommunity {COMMUNITY} 127.0.0.1\n"
        f'createUser bench SHA-256 "{KEY}" AES "{PRIV}"\nrouser bench priv\n'
        f'createUser bench512 SHA-512 "{KEY}" AES-256 "{PRIV}"\nrouser bench512 priv\n'
    )
    env = {
        **os.environ,
        "MIBS": "",
        "SNMPCONFPATH": str(home),
        "SNMP_PERSISTENT_DIR": str(home / "persist"),
    }
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            binary,
            "-f",
            "-Lf",
            str(home / "log"),
            "-C",
            "-c",
            str(conf),
            "-p",
            str(home / "pid"),
            f"udp:127.0.0.1:{port}",
        ],
        env=env,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = subprocess.run(
            [
                "snmpget",
                "-v2c",
                "-c",
                COMMUNITY,
                "-r0",
                "-t0.2",
                f"127.0.0.1:{port}",
                "1.3.6.1.2.1.1.3.0",
            ],
            env=env,
            capture_output=True,
        )
        if probe.returncode == 0:
            return proc, port, env
    proc.terminate()
    raise SystemExit("snmpd did not start")


V3_USERS = {"3": ("bench", "sha256", "aes128"), "3-512": ("bench512", "sha512", "aes256")}


async def weibao(port: int, version: str, rounds: int, concurrency: int) -> tuple[float, int]:
    if version in V3_USERS:
        user, auth, priv = V3_USERS[version]
        snmp = SnmpInspection(
            version="3",
            user=user,
            auth_protocol=auth,
            auth_key="env:K",
            priv_protocol=priv,
            priv_key="env:P",
            port=port,
        )
    else:
        snmp = SnmpInspection(version="2c", community="env:C", port=port)
    driver = SnmpDriver(environ={"C": COMMUNITY, "K": KEY, "P": PRIV})
    limit = asyncio.Semaphore(concurrency)
    values = 0

    async def one(i: int) -> None:
        nonlocal values
        async with limit:
            r = await driver.inspect_target(
                f"d{i % concurrency}",
                "127.0.0.1",
                snmp,
                "server",
                Depth.health,
                datetime.now(UTC),
                30,
            )
            assert not r.failed, r.observation.error
            values = int(r.observation.meta["varbinds"])

    await one(-1)  # warm: engine, discovery, row hints
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(rounds)))
    wall = time.perf_counter() - start
    driver.close()
    return wall, values


async def hlapi(port: int, rounds: int) -> tuple[float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pysnmp.hlapi.v3arch.asyncio import (
            CommunityData,
            ContextData,
            ObjectIdentity,
            ObjectType,
            SnmpEngine,
            UdpTransportTarget,
            bulk_walk_cmd,
            get_cmd,
        )
    engine = SnmpEngine()
    target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=1)
    auth = CommunityData(COMMUNITY)
    values = 0
    start = time.perf_counter()
    for _ in range(rounds):
        values = 0
        result = await get_cmd(
            engine,
            auth,
            target,
            ContextData(),
            *(ObjectType(ObjectIdentity(o)) for o in SCALARS),
            lookupMib=False,
        )
        values += len(result[3])
        for table in TABLES:
            async for _e, _s, _i, vbs in bulk_walk_cmd(
                engine,
                auth,
                target,
                ContextData(),
                0,
                25,
                ObjectType(ObjectIdentity(table)),
                lookupMib=False,
                lexicographicMode=False,
            ):
                values += len(vbs)
    wall = time.perf_counter() - start
    engine.close_dispatcher()
    return wall, values


def netsnmp(port: int, env: dict[str, str], rounds: int) -> tuple[float, int]:
    base = ["-v2c", "-c", COMMUNITY, "-On", "-Oq", f"127.0.0.1:{port}"]
    values = 0
    start = time.perf_counter()
    for _ in range(rounds):
        values = 0
        out = subprocess.run(["snmpget", *base, *SCALARS], env=env, capture_output=True, text=True)
        values += len(out.stdout.splitlines())
        for table in TABLES:
            out = subprocess.run(
                ["snmpbulkwalk", "-Cr25", *base, table], env=env, capture_output=True, text=True
            )
            values += len(out.stdout.splitlines())
    return time.perf_counter() - start, values


def profile(port: int, rounds: int, concurrency: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(weibao(port, "2c", rounds, concurrency))
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats("collector|weibao", 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile weibao v2c only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="weibao-bench-snmp-") as tmp:
        proc, port, env = start_snmpd(Path(tmp))
        try:
            if args.profile:
                profile(port, args.rounds, args.concurrency)
                return
            rows = []
            for name, run in (
                (
                    "weibao v2c",
                    lambda: asyncio.run(weibao(port, "2c", args.rounds, args.concurrency)),
                ),
                (
                    "weibao v3 SHA-256/AES",
                    lambda: asyncio.run(weibao(port, "3", args.rounds, args.concurrency)),
                ),
                (
                    "weibao v3 SHA-512/AES256",
                    lambda: asyncio.run(weibao(port, "3-512", args.rounds, args.concurrency)),
                ),
                ("pysnmp hlapi v2c", lambda: asyncio.run(hlapi(port, args.rounds))),
                ("net-snmp CLI v2c", lambda: netsnmp(port, env, args.rounds)),
            ):
                before = cpu()
                wall, values = run()
                used = cpu() - before
                rows.append((name, wall / args.rounds * 1000, used / args.rounds * 1000, values))
        finally:
            proc.terminate()
            proc.wait(5)
    print(f"{args.rounds} inspections each, concurrency {args.concurrency} (weibao only)")
    print(f"{'client':25} {'wall ms':>8} {'CPU ms':>8} {'values':>7}")
    for name, wall, used, values in rows:
        print(f"{name:25} {wall:8.1f} {used:8.1f} {values:7d}")
    ref = rows[-1]
    print(
        "CPU ratio to net-snmp CLI: " + ", ".join(f"{r[0]} {r[2] / ref[2]:.2f}" for r in rows[:-1])
    )
    v2c = rows[0][2]
    print("CPU ratio to weibao v2c: " + ", ".join(f"{r[0]} {r[2] / v2c:.2f}" for r in rows[1:3]))


if __name__ == "__main__":
    main()
