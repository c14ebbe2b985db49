"""A throwaway OpenSSH ``sshd`` on a free loopback port, as tests/integration starts one.

Host key, client key, ``authorized_keys`` and ``known_hosts`` are generated in a temporary
directory. sshd runs unprivileged as the account it lets in: the current user, or, when
run as root, the plain system account ``weibao-test`` (``/bin/sh``, no rc files: a heavy
login shell costs ~70 ms per command), created when missing. ``MaxStartups`` allows the
benchmark's concurrency (the default ``10:30:100`` resets connections beyond 10).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet import stop_processes

TEST_USER = "weibao-test"
SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    proc: subprocess.Popen[bytes]
    port: int
    user: str
    key: Path
    fingerprint: str
    known_hosts: Path
    home: Path

    def target(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "user": self.user,
            "key": str(self.key),
            "host_key": self.fingerprint,
            "known_hosts": str(self.known_hosts),
        }

    def stop(self) -> None:
        stop_processes([self.proc])
        shutil.rmtree(self.home, ignore_errors=True)


def available() -> str | None:
    """Why the SSH part cannot run here, or None."""
    for tool in (SSHD, "ssh", "ssh-keygen"):
        if not (Path(tool).exists() if "/" in tool else shutil.which(tool)):
            return f"{tool} is not installed (apt-get install openssh-server openssh-client)"
    return None


def login_user() -> str:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        # '*' (no password), not useradd's '!' (locked): sshd refuses locked accounts.
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh",
             "--password", "*", TEST_USER],
            check=True,
            timeout=30,
        )  # fmt: skip
    return TEST_USER


def keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "weibao-bench", "-f", str(path)],
        check=True,
        timeout=30,
    )
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(path)], check=True, capture_output=True, text=True, timeout=30
    )
    return out.stdout.split()[1]


def start_sshd(max_startups: int) -> Sshd:
    """Start sshd in a fresh directory of its own, which :meth:`Sshd.stop` removes."""
    user = login_user()
    account = pwd.getpwnam(user)
    home = Path(tempfile.mkdtemp(prefix="weibao-bench-sshd-"))
    try:
        return _start(home, user, account, max_startups)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise


def _start(home: Path, user: str, account: pwd.struct_passwd, max_startups: int) -> Sshd:
    home.chmod(0o755)  # the unprivileged sshd reads its config and keys here
    fingerprint = keygen(home / "host_key")
    keygen(home / "client_key")
    shutil.copy(home / "client_key.pub", home / "authorized_keys")
    for name in ("host_key", "authorized_keys"):
        os.chown(home / name, account.pw_uid, account.pw_gid)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    public = (home / "host_key.pub").read_text().split()
    known_hosts = home / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    (home / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'host_key'}\n"
        f"PidFile {home / 'sshd.pid'}\nAuthorizedKeysFile {home / 'authorized_keys'}\n"
        f"UsePAM no\nStrictModes no\nMaxStartups {max_startups}\nMaxSessions 64\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nAllowUsers {user}\nLogLevel ERROR\n",
        encoding="utf-8",
    )
    extra: dict[str, Any] = {"user": user} if os.geteuid() == 0 else {}
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(home / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **extra,
    )
    server = Sshd(proc, port, user, home / "client_key", fingerprint, known_hosts, home)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise SystemExit(f"sshd exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise SystemExit(f"sshd did not answer on 127.0.0.1:{port} within 10s")
