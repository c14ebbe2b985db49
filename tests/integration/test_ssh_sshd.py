"""The SSH driver against a real OpenSSH ``sshd``, started here on a free loopback port.

sshd runs with ``-D -e -f <tmp sshd_config>``; its host key, the client keys and
``authorized_keys`` are generated in a fresh temporary directory at every run (never
committed). sshd runs **unprivileged, as the account it lets in**, so it needs no
privilege-separation directory (/run/sshd) and touches nothing outside tmp:

- as a normal user (a developer's machine): that user;
- as root (CI on Debian 12): the dedicated account ``weibao-test`` with ``/bin/sh`` and
  no rc files (a heavy login shell costs ~70 ms per command), created with ``useradd``
  when missing. It is a plain account, so no ``PermitRootLogin``.

``MaxStartups 100`` lets the concurrency test connect at once (the default 10:30:100
resets connections beyond 10).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko
import pytest

from collector.driver import Depth, InspectionResult
from collector.ssh.driver import SshDriver
from collector.ssh.parsers import linux as lx
from collector.ssh.profiles import PROFILES, Command, Profile
from tests.peers import require_peer
from weibao.errors import AuthError, ConnectError, HostKeyMismatch, Timeout
from weibao.inventory.model import SshInspection

pytestmark = pytest.mark.integration

TEST_USER = "weibao-test"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@dataclass
class Sshd:
    port: int
    user: str
    home: Path
    fingerprint: str  # of the host key, as ssh-keygen -lf prints it
    key: Path  # an authorized client key
    wrong_key: Path  # a key that is not authorized
    other_fingerprint: str  # of a host key this server does not have


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def login_user() -> str:
    """Who sshd runs as and lets in; see the module docstring."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        # '*' (no password) rather than useradd's default '!' (locked): sshd refuses
        # locked accounts even for key logins when PAM is off.
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/bin/sh",
                "--password",
                "*",
                TEST_USER,
            ],
            check=True,
            timeout=30,
        )
    return TEST_USER


def keygen(tool: str, path: Path) -> str:
    subprocess.run(
        [tool, "-q", "-t", "ed25519", "-N", "", "-C", "weibao-test", "-f", str(path)],
        check=True,
        timeout=30,
    )
    out = subprocess.run(
        [tool, "-lf", str(path)], check=True, capture_output=True, text=True, timeout=30
    )
    return out.stdout.split()[1]


def wait_for_banner(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll until sshd speaks SSH on the port (never a fixed sleep)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not answer on port {port} within {seconds}s")


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    binary = require_peer("/usr/sbin/sshd", "the SSH driver is tested against OpenSSH sshd")
    tool = require_peer("ssh-keygen", "throwaway SSH keys are generated at run time")
    user = login_user()
    account = pwd.getpwnam(user)
    home = Path(tempfile.mkdtemp(prefix="weibao-sshd-"))
    try:
        home.chmod(0o755)  # the unprivileged sshd reads its config and keys here
        fingerprint = keygen(tool, home / "host_key")
        other_fingerprint = keygen(tool, home / "other_host_key")
        keygen(tool, home / "client_key")
        keygen(tool, home / "wrong_key")
        shutil.copy(home / "client_key.pub", home / "authorized_keys")
        for name in ("host_key", "authorized_keys"):
            os.chown(home / name, account.pw_uid, account.pw_gid)
        port = free_tcp_port()
        (home / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\n"
            f"PidFile {home / 'sshd.pid'}\nAuthorizedKeysFile {home / 'authorized_keys'}\n"
            "UsePAM no\nStrictModes no\nMaxStartups 100\nPubkeyAuthentication yes\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"AllowUsers {user}\nLogLevel ERROR\n",
            encoding="utf-8",
        )
        log = (home / "sshd.log").open("wb")
        extra: dict[str, Any] = {"user": user} if os.geteuid() == 0 else {}
        proc = subprocess.Popen(
            [binary, "-D", "-e", "-f", str(home / "sshd_config")],
            stdout=log,
            stderr=subprocess.STDOUT,
            **extra,
        )
        try:
            wait_for_banner(port, proc, 10)
            yield Sshd(
                port,
                user,
                home,
                fingerprint,
                home / "client_key",
                home / "wrong_key",
                other_fingerprint,
            )
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            log.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def settings(server: Sshd, **over: Any) -> SshInspection:
    base: dict[str, Any] = {
        "user": server.user,
        "port": server.port,
        "key": f"file:{server.key}",
        "host_key": server.fingerprint,
        "timeout": "5s",
    }
    base.update(over)
    return SshInspection.model_validate({k: v for k, v in base.items() if v is not None})


def inspect(
    ssh: SshInspection, depth: Depth = Depth.health, budget: float = 10, name: str = "srv"
) -> InspectionResult:
    async def run() -> InspectionResult:
        driver = SshDriver(max_threads=8)
        try:
            return await driver.inspect_target(name, "127.0.0.1", ssh, depth, NOW, budget)
        finally:
            driver.close()

    return asyncio.run(run())


def df_capacity(mountpoint: str) -> float:
    out = subprocess.run(
        ["df", "-P", mountpoint],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout
    return float(out.splitlines()[1].split()[4].rstrip("%"))


def test_filesystem_use_matches_df(sshd: Sshd) -> None:
    result = inspect(settings(sshd))
    assert not result.failed, result.observation.error
    obs = result.observation
    assert obs.value("up") == 1
    ratio = obs.value("filesystem_usage_ratio", mountpoint="/")
    assert ratio is not None
    # df rounds Capacity up to a whole percent; allow one point for writes in between.
    assert abs(ratio * 100 - df_capacity("/")) <= 1.0
    assert obs.value("uptime_seconds") is not None and obs.value("load1") is not None
    assert obs.value("memory_usage_ratio") is not None
    assert obs.meta["host_key"] == sshd.fingerprint
    assert obs.meta["host_key_trust"] == "pinned"


def test_full_inspection_runs_log_commands(sshd: Sshd) -> None:
    result = inspect(settings(sshd), depth=Depth.full)
    assert not result.failed, result.observation.error
    assert {"journal", "dmesg"} <= set(result.raw)
    # No systemd in the test container: unknown is no sample, never a 0.
    if shutil.which("systemctl") is None:
        assert result.observation.value("systemd_failed_units") is None
        assert "systemd_failed" in result.observation.meta["unavailable"]


def test_wrong_key_is_an_auth_error(sshd: Sshd) -> None:
    result = inspect(settings(sshd, key=f"file:{sshd.wrong_key}"))
    assert isinstance(result.error, AuthError)
    obs = result.observation
    assert obs.value("up") == 0 and obs.meta["error_kind"] == "auth"
    assert sshd.user in (obs.error or "") and "rejected" in (obs.error or "")
    assert sshd.wrong_key.read_text().splitlines()[1] not in (obs.error or "")


def test_changed_host_key_is_refused(sshd: Sshd) -> None:
    result = inspect(settings(sshd, host_key=sshd.other_fingerprint))
    assert isinstance(result.error, HostKeyMismatch)
    assert result.observation.value("up") == 0
    assert sshd.fingerprint in (result.observation.error or "")


def test_known_hosts(sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    line = (sshd.home / "host_key.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {' '.join(line)}\n")
    result = inspect(settings(sshd, host_key=None, known_hosts=str(known)))
    assert not result.failed, result.observation.error
    assert result.observation.meta["host_key_trust"] == "known_hosts"
    other = (sshd.home / "other_host_key.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {' '.join(other)}\n")
    changed = inspect(settings(sshd, host_key=None, known_hosts=str(known)))
    assert isinstance(changed.error, HostKeyMismatch)
    known.write_text("")
    unknown = inspect(settings(sshd, host_key=None, known_hosts=str(known)))
    assert isinstance(unknown.error, HostKeyMismatch)
    assert "unknown host key" in (unknown.observation.error or "")


def test_trust_on_first_use_records_the_fingerprint(sshd: Sshd) -> None:
    result = inspect(settings(sshd, host_key=None, trust_on_first_use=True))
    assert not result.failed, result.observation.error
    assert result.observation.meta["host_key_trust"] == "first-use"
    assert sshd.fingerprint in result.observation.meta["host_key_hint"]


def test_closed_port_is_a_connect_error(sshd: Sshd) -> None:
    started = time.monotonic()
    result = inspect(settings(sshd, port=free_tcp_port()))
    assert isinstance(result.error, ConnectError)
    assert result.observation.meta["error_kind"] == "connect"
    assert time.monotonic() - started < 10  # refused at once: no connect timeout waited


def serve(reset: bool) -> Iterator[int]:
    """A port that accepts TCP connections and never says a word, or resets them at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except OSError:
                continue
            if reset:  # linger 0: close sends RST, as sshd beyond MaxStartups does
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    yield from serve(reset=False)


@pytest.fixture
def resetting_port() -> Iterator[int]:
    yield from serve(reset=True)


def test_reset_connection_is_a_retryable_connect_error(sshd: Sshd, resetting_port: int) -> None:
    result = inspect(settings(sshd, port=resetting_port))
    assert isinstance(result.error, ConnectError), result.observation.error
    assert result.error.retryable
    assert result.observation.value("up") == 0


def test_silent_device_times_out_within_the_budget(sshd: Sshd, silent_port: int) -> None:
    started = time.monotonic()
    result = inspect(settings(sshd, port=silent_port, timeout="30s"), budget=1.0)
    elapsed = time.monotonic() - started
    assert isinstance(result.error, Timeout)
    assert result.observation.value("up") == 0
    assert result.observation.meta["error_kind"] == "timeout"
    assert elapsed < 10.0  # the 1 s budget ended it, not the 30 s timeout


def test_a_dead_device_does_not_delay_the_good_ones(sshd: Sshd, silent_port: int) -> None:
    async def run() -> tuple[list[InspectionResult], dict[str, float]]:
        driver = SshDriver(max_threads=16)
        started = time.monotonic()
        done: dict[str, float] = {}

        async def one(name: str, ssh: SshInspection, budget: float) -> InspectionResult:
            result = await driver.inspect_target(name, "127.0.0.1", ssh, Depth.health, NOW, budget)
            done[name] = time.monotonic() - started
            return result

        try:
            dead = one("dead", settings(sshd, port=silent_port), 3.0)
            good = [one(f"good{i}", settings(sshd), 10.0) for i in range(8)]
            results = await asyncio.gather(dead, *good)
        finally:
            driver.close()
        return results, done

    results, done = asyncio.run(run())
    assert isinstance(results[0].error, Timeout)
    assert all(not r.failed for r in results[1:]), [r.observation.error for r in results[1:]]
    # Order, not wall time: the eight good devices all finished before the dead one's
    # budget ran out.
    assert max(done[f"good{i}"] for i in range(8)) < done["dead"]


def test_the_whole_inspection_runs_on_one_channel(
    sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One session channel (so one shell on the server), whatever the command count."""
    opened: list[str] = []
    original = paramiko.Transport.open_session

    def counting(self: paramiko.Transport, *args: Any, **kwargs: Any) -> paramiko.Channel:
        opened.append("session")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(paramiko.Transport, "open_session", counting)
    result = inspect(settings(sshd), depth=Depth.full)
    assert not result.failed, result.observation.error
    assert opened == ["session"]
    assert result.observation.meta["commands"] == str(len(PROFILES["linux"].commands))
    # Each command's output is what it prints run alone, byte for byte.
    identity = next(c.line for c in PROFILES["linux"].commands if c.key == "identity")
    alone = subprocess.run(["/bin/sh", "-c", identity], capture_output=True, text=True, timeout=30)
    assert result.raw["identity"] == alone.stdout
    assert result.observation.meta["hostname"] == os.uname().nodename


def test_a_missing_or_failing_command_is_not_read_and_the_rest_is(
    sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = Profile(
        "linux-odd",
        (
            Command("missing", "weibao-no-such-tool --version", lx.parse_uptime),
            # 3 MB on stderr, more than the channel's window: read while it comes.
            Command("noisy", "head -c 3000000 /dev/zero | tr '\\0' e >&2; cat /proc/loadavg",
                    lx.parse_loadavg),
            Command("failing", "cat /weibao/no/such/file", lx.parse_uptime),
            Command("big", "head -c 1500000 /dev/zero | tr '\\0' x; echo", lx.parse_uptime),
            Command("uptime", "cat /proc/uptime", lx.parse_uptime),
        ),
    )  # fmt: skip
    monkeypatch.setitem(PROFILES, odd.name, odd)
    result = inspect(settings(sshd, os=odd.name))
    assert not result.failed, result.observation.error
    obs = result.observation
    assert obs.value("up") == 1
    assert obs.value("load1") is not None and obs.value("uptime_seconds") is not None
    unavailable = obs.meta["unavailable"]
    assert "missing (exit 127: " in unavailable and "not found" in unavailable
    assert "failing (exit 1: cat: /weibao/no/such/file: No such file or directory)" in unavailable
    assert "noisy" not in unavailable and "big" not in unavailable
    assert result.raw["big"].startswith("xxxx")  # kept, cut to the result's limit
