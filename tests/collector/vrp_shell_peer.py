"""A simulated Huawei VRP device over SSH, for tests: no real VRP device can run here.

A paramiko SSH server on a free loopback port that talks like the VRP CLI in an
interactive shell (with a PTY): the login banner (``Info: The max number of VTY users
...``), the ``<SYSNAME>`` prompt, echo of what is typed, ``screen-length 0 temporary``,
the ``  ---- More ----`` pager with its cursor-left erase when paging is on, and
``Error: Unrecognized command found at '^' position.`` under a caret for what it does not
know. Exec requests are refused, so a client that does not use the shell fails loudly.

Misbehaviour on request (:class:`VrpBehaviour`): a slow prompt, no prompt at all, a
prompt only after an empty line, the initial-password question, ``screen-length``
refused or ignored, a command that never finishes. Everything the client typed is kept
in :attr:`VrpShellPeer.received`, one entry per line, so a test can check that only the
profile's read-only commands were sent.
"""

from __future__ import annotations

import hmac
import io
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from collector.ssh.client import fingerprint

WIRE_LOG = "tests.vrp_shell_peer.wire"
SESSION_LIMIT = 30.0  # s a session may sit idle before the peer drops it
ACCEPT_POLL = 0.1  # s between checks for stop()
BANNER = (
    "Info: The max number of VTY users is 10, and the number\n"
    "      of current VTY users on line is 1.\n"
    "      The current login time is 2026-11-21 10:20:31+08:00."
)
PAGER = "  ---- More ----"
PAGING_INFO = "Info: The configuration takes effect on the current user terminal interface only."
UNRECOGNIZED = "Error: Unrecognized command found at '^' position."
PASSWORD_QUESTION = "The password needs to be changed. Change now? [Y/N]:"


@dataclass
class VrpBehaviour:
    """How the simulated device behaves; the defaults are a well-behaved S-series switch."""

    sysname: str = "HZ-ACC-SW01"
    outputs: Mapping[str, str] = field(default_factory=dict)  # command -> text, "\n" lines
    banner: str = BANNER
    prompt: bool = True  # False: shows the banner and then never a prompt
    prompt_delay: float = 0.0  # s between banner and prompt
    prompt_on_enter: bool = False  # the prompt comes only after an empty line
    ask_password_change: bool = False
    # honour: paging off; ignore: "Info" but pages anyway; unknown: refused, pages
    screen_length: Literal["honour", "ignore", "unknown"] = "honour"
    page_lines: int = 24
    erase_width: int = 42  # VRP 5.1x erases the pager with ESC[42D; older ones ESC[16D
    hang_on: frozenset[str] = frozenset()  # commands that never finish


class _Server(paramiko.ServerInterface):
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.shell = threading.Event()
        self.pty: tuple[str, int] | None = None

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == self.user and hmac.compare_digest(password, self.password)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED if kind == "session" else OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        self.pty = (term.decode("ascii", errors="replace"), width)
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell.set()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return False  # this device only talks in a shell


class _Keys:
    """Typed characters from the channel, one at a time, echoed like a terminal line."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.pending = ""
        self.after_cr = False

    def char(self) -> str | None:
        while not self.pending:
            data = self.channel.recv(1024)
            if not data:
                return None
            self.pending = data.decode("utf-8", errors="replace")
        ch, self.pending = self.pending[0], self.pending[1:]
        return ch

    def line(self) -> str | None:
        typed = ""
        while True:
            ch = self.char()
            if ch is None:
                return None
            if ch == "\n" and self.after_cr:  # the LF of a CR LF
                self.after_cr = False
                continue
            self.after_cr = ch == "\r"
            if ch in "\r\n":
                self.channel.sendall(b"\r\n")
                return typed
            self.channel.sendall(ch.encode("utf-8"))
            typed += ch


class VrpShellPeer:
    """One simulated VRP device; use :func:`running` to start and stop it."""

    def __init__(self, behaviour: VrpBehaviour, user: str = "weibao") -> None:
        self.behaviour = behaviour
        self.user = user
        self.password = "vrp-test-password"
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        self._key = paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode("ascii")))
        self.fingerprint = fingerprint(self._key)
        self.port = 0
        self.received: list[str] = []  # every line typed, in order, over all sessions
        self.pagers_shown = 0
        self.pty: tuple[str, int] | None = None  # (term, width) the last client asked for
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._transports: list[paramiko.Transport] = []
        self._threads: list[threading.Thread] = []

    @property
    def prompt(self) -> str:
        return f"<{self.behaviour.sysname}>"

    def start(self) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(ACCEPT_POLL)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        logging.getLogger(WIRE_LOG).setLevel(logging.CRITICAL)  # resets at client close
        self._spawn(self._accept, listener)
        return self.port

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()
        for thread in list(self._threads):
            thread.join(5)
        if self._listener is not None:
            self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # echo is byte by byte
        transport = paramiko.Transport(conn)
        with self._lock:
            self._transports.append(transport)
        try:
            transport.set_log_channel(WIRE_LOG)
            transport.add_server_key(self._key)
            server = _Server(self.user, self.password)
            transport.start_server(server=server)
            channel = transport.accept(SESSION_LIMIT)
            if channel is None or not self._wait(server.shell, transport):
                return
            self.pty = server.pty
            channel.settimeout(SESSION_LIMIT)
            try:
                self._session(channel, _Keys(channel))
            finally:
                channel.close()
            # Let the client close the connection: closing the socket under its last
            # packets would end in a TCP reset, which its paramiko logs as an error.
            self._wait(threading.Event(), transport)
        except (OSError, EOFError, paramiko.SSHException):
            pass  # the client went away (or the test stopped us): nothing to answer
        finally:
            transport.close()

    def _wait(self, event: threading.Event, transport: paramiko.Transport) -> bool:
        """Wait for ``event``, but not past stop() or the client's going away."""
        for _ in range(int(SESSION_LIMIT / ACCEPT_POLL)):
            if event.wait(ACCEPT_POLL):
                return True
            if self._stop.is_set() or not transport.is_active():
                return False
        return False

    def _send(self, channel: paramiko.Channel, text: str) -> None:
        channel.sendall(text.replace("\n", "\r\n").encode("utf-8"))

    def _session(self, channel: paramiko.Channel, keys: _Keys) -> None:
        b = self.behaviour
        self._send(channel, "\n" + b.banner + "\n")
        if b.ask_password_change:
            self._send(channel, PASSWORD_QUESTION)
            answer = keys.line()
            if answer is None:
                return
            self.received.append(answer)
        if not b.prompt:
            while keys.char() is not None:  # typed keys go nowhere, as on a hung CLI
                pass
            return
        if b.prompt_on_enter:
            first = keys.line()
            if first is None:
                return
            self.received.append(first)
        elif b.prompt_delay:
            self._stop.wait(b.prompt_delay)
        self._send(channel, self.prompt)
        paging = True
        while True:
            line = keys.line()
            if line is None:
                return
            self.received.append(line)
            command = " ".join(line.split())
            if command == "quit":
                return  # VRP ends the session
            if command in b.hang_on:
                while keys.char() is not None:
                    pass
                return
            if command == "screen-length 0 temporary" and b.screen_length != "unknown":
                paging = paging and b.screen_length == "ignore"
                self._send(channel, PAGING_INFO + "\n" + self.prompt)
            elif command in b.outputs:
                self._answer(channel, keys, b.outputs[command], paging)
            elif command:
                caret = " " * (len(self.prompt) + line.rfind(command.split()[-1])) + "^"
                self._send(channel, f"{caret}\n{UNRECOGNIZED}\n{self.prompt}")
            else:
                self._send(channel, self.prompt)

    def _answer(self, channel: paramiko.Channel, keys: _Keys, text: str, paging: bool) -> None:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        page = self.behaviour.page_lines if paging else len(lines) or 1
        for start in range(0, len(lines), page):
            self._send(channel, "".join(x + "\n" for x in lines[start : start + page]))
            if start + page >= len(lines):
                break
            self._send(channel, self._pager())
            self.pagers_shown += 1
            key = keys.char()
            if key is None:
                return
            self._send(channel, self._erase())
            if key != " ":
                break  # any other key ends the listing, as on VRP
        self._send(channel, self.prompt)

    def _pager(self) -> str:
        """What the device prints between two pages."""
        return PAGER

    def _erase(self) -> str:
        """What the device prints to wipe the pager once a key is pressed."""
        erase = f"\x1b[{self.behaviour.erase_width}D"
        return erase + " " * self.behaviour.erase_width + erase


@contextmanager
def running(behaviour: VrpBehaviour) -> Iterator[VrpShellPeer]:
    """A started peer on 127.0.0.1, stopped (every thread joined) afterwards."""
    peer = VrpShellPeer(behaviour)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
