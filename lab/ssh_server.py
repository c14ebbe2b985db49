"""One simulated SSH server per lab server, on paramiko's server side.

Password login for the fleet's user (the password from its ``env:`` reference), exec
channels only (no shell, no PTY), answered by :mod:`lab.linux` from the device's current
data. The host key is an ed25519 key derived from the device name, so it is the same on
every machine and every run: ``inventory.yaml`` pins its fingerprint like a real one,
and no private key is kept in the repository. A ``silent`` device accepts the TCP
connection and never speaks, as a hung host does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from lab import linux
from lab.model import LabDevice, LabSsh

log = logging.getLogger("weibao.lab.ssh")
WIRE_LOG = "weibao.lab.ssh.wire"  # the server transports' own paramiko log
SILENT_HOLD = 60.0  # seconds a silent device keeps a connection open before dropping it
ACCEPT_POLL = 0.2  # seconds between checks for close()


def host_key(name: str) -> paramiko.Ed25519Key:
    """The lab device's ed25519 host key, derived from its name (lab use only)."""
    seed = hashlib.sha256(f"weibao lab host key {name}".encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode("ascii")))


def fingerprint(key: paramiko.PKey) -> str:
    """As ``ssh-keygen -lf`` prints it (and as inventory.yaml pins it)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class _Server(paramiko.ServerInterface):
    def __init__(self, device: SshDevice, password: str) -> None:
        self._device = device
        self._password = password.encode("utf-8")

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == self._device.ssh.user and hmac.compare_digest(
            password.encode("utf-8"), self._password
        )
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        line = command.decode("utf-8", errors="replace")
        threading.Thread(
            target=self._device.answer, args=(channel, line), name="lab-ssh-exec", daemon=True
        ).start()
        return True


class SshDevice:
    """A lab server's SSH endpoint; ``start`` binds and accepts in a thread."""

    def __init__(
        self,
        device: LabDevice,
        boot: float,
        host: str,
        port: int,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert device.ssh is not None
        self.device = device
        self.ssh: LabSsh = device.ssh
        self.boot = boot
        self.host, self.port = host, port
        self.environ = environ
        self.clock = clock
        self._key = host_key(device.name)
        self._listener: socket.socket | None = None
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._key)

    def start(self) -> tuple[str, int]:
        """Bind (port 0: a free one) and accept; raises SecretMissing or OSError."""
        password = self.ssh.password.resolve(self.environ)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        # A timeout, because closing a socket does not wake a thread blocked in accept();
        # set here, as a lab stopped at once may close the socket before the thread runs.
        listener.settimeout(ACCEPT_POLL)
        self.port = listener.getsockname()[1]
        self._listener = listener
        # An inspection closes its connection without reading our last packets, so
        # paramiko logs "Connection reset by peer" at ERROR after every one: normal here.
        logging.getLogger(WIRE_LOG).setLevel(logging.CRITICAL)
        threading.Thread(
            target=self._accept, args=(listener, password), name="lab-ssh", daemon=True
        ).start()
        return self.host, self.port

    def update(self, device: LabDevice) -> None:
        self.device = device

    def _accept(self, listener: socket.socket, password: str) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            if self.device.silent:
                threading.Thread(target=self._hold, args=(conn,), daemon=True).start()
                continue
            try:
                transport = paramiko.Transport(conn)
                transport.set_log_channel(WIRE_LOG)
                transport.add_server_key(self._key)
                transport.start_server(server=_Server(self, password))
            except (paramiko.SSHException, OSError, EOFError) as exc:
                log.debug("lab ssh %s: handshake failed: %s", self.device.name, exc)
                conn.close()
                continue
            with self._lock:
                self._transports = [t for t in self._transports if t.is_active()]
                self._transports.append(transport)

    def _hold(self, conn: socket.socket) -> None:
        """A hung host: the connection is open, nothing ever comes back."""
        conn.settimeout(SILENT_HOLD)
        try:
            while not self._closed.is_set() and conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    def answer(self, channel: paramiko.Channel, line: str) -> None:
        """Run one exec request against the current data; stdout, stderr, status, EOF."""
        device = self.device
        assert device.host is not None
        uptime = max(0.0, self.clock() - self.boot)
        result = linux.run_script(line, device.name, device.host, uptime) or linux.run(
            line, device.name, device.host, uptime
        )
        # No close() here: this thread may run before paramiko has sent the exec request's
        # success reply, and a close that overtakes it fails the client's exec_command
        # ("Channel closed"). EOF and exit status may come first; the client closes.
        try:
            channel.sendall(result.stdout.encode("utf-8"))
            channel.sendall_stderr(result.stderr.encode("utf-8"))
            channel.send_exit_status(result.status)
            channel.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.debug("lab ssh %s: client went away: %s", device.name, exc)
            channel.close()

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.close()  # the accept thread notices within ACCEPT_POLL
            self._listener = None
        with self._lock:
            transports, self._transports = self._transports, []
        for transport in transports:
            transport.close()
