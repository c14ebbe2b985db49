"""The only module that imports paramiko: one blocking SSH connection, errors translated.

Everything here blocks, so the driver runs :meth:`SshConnection.inspect` in a worker
thread and, when its budget runs out, calls :meth:`SshConnection.abort` from the event
loop: closing the socket wakes the thread at once, whatever paramiko was waiting for.

We hand paramiko a socket with ``TCP_NODELAY`` set: paramiko leaves Nagle on, and one
inspection of six commands then takes about 4x longer (docs/BASELINE: 359 ms vs 90 ms).

A profile without a ``shell`` (Linux) runs all its commands as one script on one exec
channel (:mod:`collector.ssh.script`), so the server starts one session and one shell
per inspection, as OpenSSH's ``ssh host 'cmd1; cmd2'`` would. A profile with a ``shell``
(network CLIs) runs them in one interactive shell; :mod:`collector.ssh.shell` does the
talking.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import select
import socket
import threading
import time
import warnings
import weakref
from dataclasses import dataclass, field

from cryptography.utils import CryptographyDeprecationWarning

from collector.ssh.script import ScriptOutput, build_script, new_token
from collector.ssh.shell import CliShell, ShellDialect
from weibao.errors import (
    AuthError,
    ConnectError,
    HostKeyMismatch,
    InspectionError,
    ProtocolError,
    Timeout,
)

# paramiko still references ciphers that cryptography deprecates (TripleDES) and some
# versions warn at import; silence only that category, only around this import.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    import paramiko

OUTPUT_MAX = 1 << 20  # bytes kept per command: a flooded journal must not eat memory
# The terminal asked for in shell sessions: wide, so the device never wraps a line.
PTY_TERM, PTY_WIDTH, PTY_HEIGHT = "vt100", 511, 1000
_KEY_CLASSES: tuple[type[paramiko.PKey], ...] = (
    paramiko.Ed25519Key,
    paramiko.ECDSAKey,
    paramiko.RSAKey,
)


@dataclass(frozen=True)
class Login:
    user: str
    key: paramiko.PKey | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class HostKeyPolicy:
    """How the server's key is trusted: pinned, known_hosts, or (explicitly) first use.

    ``remembered`` is the key a trust-on-first-use device showed first; a different key
    later is refused like any changed key.
    """

    pinned: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    remembered: str | None = None


@dataclass(frozen=True)
class Output:
    """One command's result.

    Over an interactive shell there is no exit status: ``status`` is 0, or 1 when the
    device answered ``Error: ...`` (that line is then ``stderr``).
    """

    stdout: str
    stderr: str
    status: int | None  # None: the server sent no exit status
    truncated: bool = False


@dataclass
class Session:
    fingerprint: str
    trust: str  # "pinned", "known_hosts", "remembered" or "first-use"
    outputs: dict[str, Output] = field(default_factory=dict)


def load_private_key(text: str, where: str) -> paramiko.PKey:
    """Parse an unencrypted private key; errors name ``where`` (the reference), never the key."""
    for cls in _KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text + "\n"))
        except paramiko.PasswordRequiredException:
            raise InspectionError(
                f"the private key in {where} is protected by a passphrase; weibao needs an "
                "unencrypted key that only its own user can read"
            ) from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise InspectionError(f"{where} does not hold an ed25519, ecdsa or rsa private key")


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's form (``ssh-keygen -lf``): SHA256 of the key blob, base64 without padding."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class SshConnection:
    """One connection to one device for one inspection; blocking, one thread at a time.

    ``shell`` set: the commands run in one interactive shell (network CLIs such as VRP);
    otherwise all of them as one script on one exec channel.
    """

    def __init__(self, host: str, port: int, shell: ShellDialect | None = None) -> None:
        self.host, self.port = host, port
        self.shell = shell
        self.stage = "not started"  # for the Timeout message: where it hung
        self._sock: socket.socket | None = None
        self._transport: paramiko.Transport | None = None
        self._aborted = threading.Event()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def aborted(self) -> bool:
        """Whether :meth:`abort` cut this connection off (its budget ran out)."""
        return self._aborted.is_set()

    def abort(self) -> None:
        """Close from another thread: the blocked call fails and the thread ends."""
        self._aborted.set()
        self.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._sock is not None:
            self._sock.close()

    def inspect(
        self,
        login: Login,
        policy: HostKeyPolicy,
        connect_timeout: float,
        commands: list[tuple[str, str]],
        deadline: float,
    ) -> Session:
        """Connect, check the host key, log in and run ``commands`` (key, line) in order."""
        try:
            session = self._open(login, policy, connect_timeout, deadline)
            if self.shell is not None:
                self._run_shell(self.shell, session, commands, connect_timeout, deadline)
                return session
            self._run_script(session, commands, deadline)
            return session
        except InspectionError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc
        finally:
            self.close()

    def _open(
        self, login: Login, policy: HostKeyPolicy, connect_timeout: float, deadline: float
    ) -> Session:
        limit = min(connect_timeout, deadline - time.monotonic())
        self.stage = "connecting"
        self._sock = socket.create_connection((self.host, self.port), timeout=limit)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = self._transport = paramiko.Transport(self._sock)
        _watch_transport_log(transport, self)
        transport.banner_timeout = transport.handshake_timeout = limit
        transport.auth_timeout = limit
        known = _known_keys(policy.known_hosts, self.host, self.port)
        if known:
            # Ask for a key type we can check, as OpenSSH does (else ed25519 may win).
            transport.get_security_options().key_types = [k.get_name() for k in known]
        self.stage = "key exchange"
        transport.start_client(timeout=limit)
        server_key = transport.get_remote_server_key()
        session = Session(*self._check_host_key(server_key, known, policy))
        self.stage = "authentication"
        self._authenticate(transport, login)
        return session

    def _check_host_key(
        self, key: paramiko.PKey, known: list[paramiko.PKey], policy: HostKeyPolicy
    ) -> tuple[str, str]:
        seen = fingerprint(key)
        if policy.pinned is not None:
            if seen.rstrip("=") == policy.pinned.rstrip("="):
                return seen, "pinned"
            raise HostKeyMismatch(
                f"{self.target} shows host key {seen} ({key.get_name()}), not the pinned "
                f"{policy.pinned}: the device was replaced or reinstalled, or someone is in "
                "between; check with the customer before pinning the new key"
            )
        if any(k.asbytes() == key.asbytes() for k in known):
            return seen, "known_hosts"
        if known:
            raise HostKeyMismatch(
                f"{self.target} shows host key {seen} ({key.get_name()}), which differs from "
                f"the one in {policy.known_hosts}: the key changed; check with the customer "
                "before replacing the known_hosts entry"
            )
        if policy.trust_on_first_use:
            if policy.remembered is None:
                return seen, "first-use"
            if policy.remembered == seen:
                return seen, "remembered"
            raise HostKeyMismatch(
                f"{self.target} shows host key {seen}, not {policy.remembered} that it showed "
                "first (trust on first use): the key changed"
            )
        where = policy.known_hosts or "no known_hosts file"
        raise HostKeyMismatch(
            f"{self.target} shows an unknown host key {seen} ({key.get_name()}), not in "
            f"{where}; pin it as host_key after checking it with the customer"
        )

    def _authenticate(self, transport: paramiko.Transport, login: Login) -> None:
        failures = []
        for method, secret in (("key", login.key), ("password", login.password)):
            if secret is None:
                continue
            try:
                if isinstance(secret, paramiko.PKey):
                    transport.auth_publickey(login.user, secret)
                else:
                    transport.auth_password(login.user, secret)
                return
            except paramiko.BadAuthenticationType as exc:
                failures.append(
                    f"{method} not allowed (server offers {', '.join(exc.allowed_types)})"
                )
            except paramiko.AuthenticationException:
                failures.append(f"{method} rejected")
        raise AuthError(
            f"{self.target} refused user {login.user!r}: {'; '.join(failures)}; check the "
            "account, its authorized_keys and the key or password reference"
        )

    def _run_script(
        self, session: Session, commands: list[tuple[str, str]], deadline: float
    ) -> None:
        """Every command in one script on one exec channel; outputs split at the marks."""
        assert self._transport is not None
        token = new_token()
        script = ScriptOutput(token, len(commands), OUTPUT_MAX)
        self.stage = "opening a channel"
        channel = self._transport.open_session(timeout=max(deadline - time.monotonic(), 0.01))
        try:
            channel.exec_command(build_script([line for _, line in commands], token))
            channel.shutdown_write()  # no command reads stdin: EOF at once
            self._read_both(channel, script, commands, deadline)
        finally:
            channel.close()
        for (key, _), result in zip(commands, script.results(), strict=True):
            stderr = _text(result.stderr)
            if result.status is None and not stderr:
                stderr = "the shell ended before this command finished"
            session.outputs[key] = Output(
                _text(result.stdout), stderr, result.status, result.truncated
            )

    def _read_both(
        self,
        channel: paramiko.Channel,
        script: ScriptOutput,
        commands: list[tuple[str, str]],
        deadline: float,
    ) -> None:
        """Read stdout and stderr as they come (one stream left unread could fill the
        channel's window and stall the other) until the channel's EOF."""
        ready = channel.fileno()  # readable while either stream has data, or at EOF
        while True:
            done = len(script.stdout.statuses)
            self.stage = f"running {commands[min(done, len(commands) - 1)][0]}"
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([ready], [], [], remaining)[0]:
                raise Timeout(f"{self.target}: no result in time while {self.stage}")
            while channel.recv_stderr_ready():
                script.stderr.feed(channel.recv_stderr(32768))
            if channel.recv_ready():
                script.stdout.feed(channel.recv(32768))
                continue
            if channel.eof_received or channel.closed:
                while chunk := channel.recv(32768):
                    script.stdout.feed(chunk)
                while chunk := channel.recv_stderr(32768):
                    script.stderr.feed(chunk)
                return

    def _run_shell(
        self,
        dialect: ShellDialect,
        session: Session,
        commands: list[tuple[str, str]],
        connect_timeout: float,
        deadline: float,
    ) -> None:
        """All commands in one interactive shell; waiting for the prompt is a connection step."""
        assert self._transport is not None
        self.stage = "opening a shell"
        channel = self._transport.open_session(timeout=max(deadline - time.monotonic(), 0.01))
        try:
            channel.get_pty(term=PTY_TERM, width=PTY_WIDTH, height=PTY_HEIGHT)
            channel.invoke_shell()
            shell = CliShell(channel, dialect, self.target, OUTPUT_MAX)
            self.stage = "waiting for the CLI prompt"
            shell.wait_for_prompt(min(time.monotonic() + connect_timeout, deadline))
            for line in dialect.setup:
                self.stage = f"sending {line!r}"
                shell.run(line, deadline)  # refused: the pager is answered instead
            for key, line in commands:
                self.stage = f"running {key}"
                out = shell.run(line, deadline)
                status = 0 if out.error is None else 1
                session.outputs[key] = Output(out.text, out.error or "", status, out.truncated)
            self.stage = "quitting"
            shell.quit(deadline)
        finally:
            channel.close()

    def _translate(self, exc: Exception) -> InspectionError:
        """paramiko and socket errors → weibao.errors; the budget running out wins."""
        if self._aborted.is_set():
            return Timeout(f"{self.target}: no result within the inspection budget ({self.stage})")
        if isinstance(exc, TimeoutError | socket.timeout):
            return Timeout(f"{self.target}: no answer in time while {self.stage}")
        if isinstance(exc, ConnectionRefusedError):
            return ConnectError(f"{self.target} refused the connection (no SSH server there?)")
        if isinstance(exc, ConnectionResetError | EOFError):
            # sshd resets connections beyond MaxStartups: retryable, not a dead host.
            return ConnectError(f"{self.target} closed the connection while {self.stage}")
        if isinstance(exc, OSError):
            return ConnectError(f"{self.target}: {exc.strerror or exc} while {self.stage}")
        if isinstance(exc, paramiko.SSHException):
            # paramiko wraps the socket error it met (banner, key exchange): judge that one.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, Exception) and not isinstance(cause, paramiko.SSHException):
                return self._translate(cause)
            text = str(exc)
            if "timed out" in text.lower() or "timeout" in text.lower():
                return Timeout(f"{self.target}: no answer in time while {self.stage} ({text})")
            return ProtocolError(f"{self.target}: SSH error while {self.stage}: {text}")
        return ProtocolError(f"{self.target}: {type(exc).__name__} while {self.stage}: {exc}")


# paramiko's transport thread logs the error that ended it at ERROR, then the traceback
# one line at a time: 25 lines for a dead device whose connection the collector cut off.
# The inspection's result already carries the failure, so each of our transports logs
# one line with the reason instead (the same logger, other transports untouched).
_TRANSPORT_LOG = "paramiko.transport"
_HEADLINES = ("Exception (", "Unknown exception: ", "Socket exception: ")
_OURS: weakref.WeakKeyDictionary[paramiko.Transport, SshConnection] = weakref.WeakKeyDictionary()
_REPORTED: weakref.WeakSet[paramiko.Transport] = weakref.WeakSet()


class _OneLineTransportErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        thread = threading.current_thread()
        connection = _OURS.get(thread) if isinstance(thread, paramiko.Transport) else None
        if connection is None or record.levelno < logging.ERROR:
            return True
        assert isinstance(thread, paramiko.Transport)
        if thread in _REPORTED:
            return False  # the traceback after the headline
        message = record.getMessage()
        if not message.startswith(_HEADLINES):
            return True
        _REPORTED.add(thread)
        reason = message.split(": ", 1)[-1] if ": " in message else message
        if connection.aborted:
            # Our own close after the inspection's budget ran out: expected, and the
            # result (a Timeout) already says so.
            record.levelno, record.levelname = logging.INFO, "INFO"
            reason = f"the inspection's time ran out, so the collector closed it ({reason})"
        else:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg, record.args, record.exc_info = "ssh.connection_ended", None, None
        record.fields = {"target": connection.target, "stage": connection.stage, "reason": reason}
        return True


_ONE_LINE = _OneLineTransportErrors()


def _watch_transport_log(transport: paramiko.Transport, connection: SshConnection) -> None:
    _OURS[transport] = connection
    logging.getLogger(_TRANSPORT_LOG).addFilter(_ONE_LINE)  # once: addFilter skips a repeat


def _known_keys(path: str | None, host: str, port: int) -> list[paramiko.PKey]:
    if path is None:
        return []
    try:
        keys = paramiko.HostKeys(path)
    except OSError as exc:
        raise InspectionError(f"known_hosts {path} cannot be read: {exc.strerror}") from None
    name = host if port == 22 else f"[{host}]:{port}"
    entry = keys.lookup(name)
    return list(entry.values()) if entry else []


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
