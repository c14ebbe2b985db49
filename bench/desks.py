"""Real ``weibao serve`` processes for the benchmarks that push to a desk (ingest, storm).

Loaded by path (``bench/`` is not a package): ``_load("bench_desks", HERE.parent /
"desks.py")``. Every desk listens on a free loopback port and is always stopped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

WEIBAO = [sys.executable, "-m", "weibao.cli.main"]


@dataclass
class Desk:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_site_inventory(devices: list[dict[str, Any]], contract_id: str) -> dict[str, Any]:
    """One customer, one contract, one headquarters site holding ``devices``."""
    site = {"name": "DC", "hq": True, "engineers": [{"name": "Li Qiang"}], "devices": devices}
    contract = {
        "id": contract_id,
        "name": contract_id.lower(),
        "start": "2026-01-01",
        "end": "2030-12-31",
        "service_manager": {"name": "Wang Li"},
        "sites": [site],
    }
    return {"customers": [{"name": "Acme", "contracts": [contract]}]}


@contextmanager
def running_desks(
    workdir: Path,
    inventory: dict[str, Any],
    db: str,
    count: int = 1,
    rules: Path | None = None,
    timeout: float = 300,
) -> Iterator[list[Desk]]:
    """``count`` desks on one database (collector off), ready when /healthz answers."""
    (workdir / "inventory.yaml").write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WEIBAO_DB": db}
    procs: list[tuple[subprocess.Popen[bytes], str, Any]] = []
    try:
        for n in range(count):
            url = f"http://127.0.0.1:{free_port()}"
            log_path = workdir / f"desk-{n}.log"
            log = open(log_path, "w")  # noqa: SIM115 - closed below
            argv = [*WEIBAO, "serve", "-i", "inventory.yaml", "--db", db, "--no-collect"]
            argv += ["--listen", url.removeprefix("http://")]
            if rules is not None:
                argv += ["-r", str(rules)]
            proc = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=log, env=env)
            procs.append((proc, url, log))
            _wait_ready(proc, url, log_path, timeout)
        yield [Desk(url, proc.pid) for proc, url, _ in procs]
    finally:
        for proc, _, log in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
            log.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the desk did not answer /healthz within {timeout:.0f} s")
        time.sleep(0.1)


def make_token(workdir: Path, db: str, *options: str) -> str:
    """``weibao token create OPTIONS --db DB``, as an ops engineer makes one."""
    done = subprocess.run(
        [*WEIBAO, "token", "create", *options, "--name", "bench", "--db", db],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]
