"""Serve real device recordings over UDP on loopback with snmpsim (a test helper).

The same harness as ``test_snmp_recordings``' fixture, as a context manager any test can
use with its own set of recordings: a sorted copy of each recording in tmp (snmpsim's
index expects OID order), a free loopback port, polled with net-snmp's ``snmpget`` until
it answers, stopped on exit. snmpsim maps the community to the file name, so the
community of a recording is its name. Under root, snmpsim's own SNMPSIM_ALLOW_ROOT
escape is set (see ``test_snmp_recordings``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from collector.snmp.oid import parse_oid
from tests.collector.recordings import recordings_dir
from tests.peers import require_peer

READY_WITHIN = 60.0  # seconds: indexing the recordings takes a few


def sorted_copy(source: Path, target: Path) -> None:
    """The recording with its lines in numeric OID order (content unchanged)."""
    lines = [line for line in source.read_text().splitlines() if line.strip()]
    lines.sort(key=lambda line: parse_oid(line.split("|", 1)[0]))
    target.write_text("\n".join(lines) + "\n")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_recordings(names: Sequence[str], home: Path) -> Iterator[int]:
    """snmpsim serving ``names`` (recording names) on 127.0.0.1; yields the UDP port."""
    source = recordings_dir()
    responder = require_peer(
        str(Path(sys.executable).parent / "snmpsim-command-responder"),
        "snmpsim serves the device recordings (pip install snmpsim)",
    )
    snmpget = require_peer("snmpget", "net-snmp's snmpget polls snmpsim until it is ready")
    data, cache = home / "data", home / "cache"
    data.mkdir()
    cache.mkdir()
    for name in names:
        sorted_copy(source / f"{name}.snmprec", data / f"{name}.snmprec")
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(home / "client")}
    env["SNMPCONFPATH"] = str(home / "client")
    if os.geteuid() == 0:
        env["SNMPSIM_ALLOW_ROOT"] = "true"
    port = free_udp_port()
    log_path = home / "snmpsim.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                responder,
                f"--data-dir={data}",
                f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                "--log-level=error",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + READY_WITHIN
            probe = [snmpget, "-v2c", "-c", names[0], "-r0", "-t0.3", f"127.0.0.1:{port}"]
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"snmpsim exited: {log_path.read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"snmpsim did not answer within {READY_WITHIN:g} s")
                ready = subprocess.run(
                    [*probe, "1.3.6.1.2.1.1.2.0"], env=env, capture_output=True, timeout=10
                )
                if ready.returncode == 0:
                    break
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
