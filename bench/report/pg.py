"""A throwaway PostgreSQL cluster on loopback, started and stopped by the benchmark.

The same recipe as ``tests/integration/test_postgres_store.py`` (initdb into a temporary
directory, 127.0.0.1 on a free port, ``fsync=off``, run as ``postgres`` when we are
root), without pytest: a missing server is a message, not a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_bin() -> Path | None:
    """The newest PostgreSQL server's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def version() -> str:
    binaries = find_bin()
    if binaries is None:
        return "absent"
    done = subprocess.run([str(binaries / "postgres"), "--version"], capture_output=True, text=True)
    return done.stdout.strip().removeprefix("postgres (PostgreSQL) ")


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in Path(path).parts if p.isdigit())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str], timeout: float = 90) -> None:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")


@contextmanager
def cluster() -> Iterator[tuple[str, Path]]:
    """(SQLAlchemy URL, data directory) of a fresh cluster; always stopped and removed."""
    binaries = find_bin()
    if binaries is None:
        raise SystemExit("PostgreSQL server binaries not found: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="weibao-bench-pg-"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    started = False
    try:
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "weibao",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        _run(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        started = True
        yield f"postgresql+psycopg://weibao@127.0.0.1:{port}/postgres", data
    finally:
        if started:
            _run(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ]
            )
        shutil.rmtree(root, ignore_errors=True)


def server_pids(data: Path) -> list[int]:
    """The postmaster and its children (backends), for their CPU time."""
    try:
        first = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    out = subprocess.run(["pgrep", "-P", str(first)], capture_output=True, text=True).stdout
    return [first, *(int(p) for p in out.split())]


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (live processes only), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for n, pid in enumerate(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if n == 0:  # the postmaster: with the backends it reaped (ended connections)
            total += int(fields[13]) + int(fields[14])
    return total / tick
