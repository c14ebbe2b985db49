"""One interactive CLI session (Huawei VRP, H3C Comware, Cisco IOS) on an SSH channel,
and its text cleaning.

Network devices such as Huawei S-series switches, AR routers and CE switches do not run
commands reliably over an exec channel; the field way is one interactive shell per
inspection: wait for the prompt (``<sysname>``, ``[sysname]``, ``[~sysname]`` on CE and
Comware alike; ``Router>`` or ``Router#`` on IOS), switch paging off, send each command,
read its output up to the next prompt, ``quit`` (``exit`` on IOS). What differs between
the CLIs (prompt, error lines, paging and exit commands) is a :class:`ShellDialect`.

What comes back is what a terminal would draw: the echoed command, CR LF, the
``  ---- More ----`` pager and the cursor moves that erase it, now and then colour codes.
:func:`clean_output` turns that into the plain text the parsers would read from a file,
by replaying the cursor moves on a line (so an erased pager vanishes, as on screen).

This module imports no paramiko: :class:`CliShell` works on anything with ``recv``,
``sendall`` and ``settimeout`` (a paramiko Channel), and blocks like it, so it runs in the
driver's worker thread. The caller bounds it with a deadline (``time.monotonic()``).
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from typing import Protocol

from weibao.errors import ConnectError, Timeout

RECV_SIZE = 32768
NUDGE_AFTER = 2.0  # s without a prompt after login: send one empty line, as a user would
TAIL_KEPT = 4096  # bytes of the newest output kept for prompt and pager detection
QUIT_WAIT = 1.0  # s the device gets to end the session after the exit command
ECHO_WINDOW = 8192  # the echo of a command is in the first bytes of its output or nowhere

# ESC [ params intermediates final (CSI), ESC ] ... BEL/ST (OSC), two- or three-byte
# escapes, a single control character, or a run of plain text (tabs included).
_TOKEN = re.compile(
    r"\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[()#%][0-9A-Za-z@]?"
    r"|\x1b[@-~0-9=>]?"
    r"|(?P<control>[\x00-\x08\x0a-\x1f\x7f])"
    r"|(?P<text>[^\x00-\x08\x0a-\x1f\x7f\x1b]+)"
)
# The pager and, when the device does not erase it, the line break after it.
_PAGER = re.compile(r" *-{2,} ?More ?-{2,}(?:\r?\n)?")
_PAGER_AT_END = re.compile(r"-{2,} ?More ?-{2,} *$")
# <name> in user view, [name] in system view, [~name] / [*name] on CE (two-stage commit),
# HRP_M / HRP_S in front on a firewall pair. Comware prompts the same way.
VRP_PROMPT = re.compile(
    r"(?:HRP_[MSA])?"
    r"(?:<(?P<user>[^<>\[\]\s][^<>\[\]]*)>"
    r"|\[[~*]?(?P<system>[^<>\[\]~*\s][^<>\[\]]*)\])"
)
# IOS: hostname> in user EXEC, hostname# privileged (hostname(config)# is never entered).
IOS_PROMPT = re.compile(r"(?P<name>[A-Za-z0-9][\w.\-]*)(?:\([\w-]+\))?[>#]")
_CARET = re.compile(r"\s*\^\s*")
# The line a CLI answers a refused command with (under the caret, when there is one).
VRP_ERROR = re.compile(r"Error\s*:")
COMWARE_ERROR = re.compile(
    r"%\s*(?:Unrecognized command|Incomplete command|Wrong parameter|Too many parameters"
    r"|Ambiguous command|Permission denied|Unknown command)",
    re.IGNORECASE,
)
IOS_ERROR = re.compile(
    r"%\s*(?:Invalid input|Incomplete command|Ambiguous command|Unknown command"
    r"|Unrecognized command|(?:Command )?authorization failed|Permission denied)",
    re.IGNORECASE,
)
# Asked at login when the account's password is initial or expired: "N" changes nothing.
_PASSWORD_CHANGE = re.compile(r"change\s+now\s*\?\s*\[Y/N\]\s*:?\s*$", re.IGNORECASE)


class ShellChannel(Protocol):
    """What :class:`CliShell` needs of a paramiko Channel."""

    def recv(self, nbytes: int, /) -> bytes: ...

    def sendall(self, data: bytes, /) -> None: ...

    def settimeout(self, timeout: float | None, /) -> None: ...


@dataclass(frozen=True)
class ShellDialect:
    """What a CLI needs around the inspection's commands (a profile's data).

    ``setup`` lines are sent once after the first prompt (paging off); a device that
    refuses one is still inspected, the pager is then answered as it comes. ``prompt``
    full-matches a prompt line, its one matching named group being the sysname;
    ``error`` matches the line a refused command answers with.
    """

    setup: tuple[str, ...]
    exit: str
    prompt: re.Pattern[str] = VRP_PROMPT
    error: re.Pattern[str] = VRP_ERROR


@dataclass(frozen=True)
class CommandText:
    """One command's cleaned output; ``error`` is the device's ``Error: ...`` line, if any."""

    text: str
    error: str | None = None
    truncated: bool = False


# ---------------------------------------------------------------- text cleaning (pure)


def render_terminal(raw: str) -> str:
    """Replay what a terminal draws: CR, LF, backspace, cursor left/right, erase in line.

    Returns the lines joined by ``\\n`` (the last one unterminated when ``raw`` is). A line
    that was partly overwritten (a pager erased with spaces) loses its trailing blanks;
    other lines keep theirs, as the device printed them. Other escapes are dropped.
    """
    lines: list[str] = []
    line: list[str] = []
    col = 0
    overwritten = False
    for token in _TOKEN.finditer(raw):
        text, control, final = token.group("text"), token.group("control"), token.group("final")
        if text is not None:
            if col < len(line):
                overwritten = True
            elif col > len(line):
                line.extend(" " * (col - len(line)))
            line[col : col + len(text)] = text
            col += len(text)
        elif control is not None:
            if control == "\n":
                done = "".join(line)
                lines.append(done.rstrip() if overwritten else done)
                line, col, overwritten = [], 0, False
            elif control == "\r":
                col = 0
            elif control == "\b":
                col = max(col - 1, 0)
        elif final is not None:
            params = token.group("params")
            count = int(params) if params.isdigit() else 1
            if final == "D":
                col = max(col - count, 0)
            elif final == "C":
                col += count
            elif final == "G":
                col = max(count - 1, 0)
            elif final == "K":
                if params in ("", "0"):
                    del line[col:]
                elif params == "1":
                    line[: min(col + 1, len(line))] = " " * min(col + 1, len(line))
                elif params == "2":
                    line = []
    done = "".join(line)
    lines.append(done.rstrip() if overwritten else done)
    return "\n".join(lines)


def clean_output(raw: str) -> str:
    """Device bytes (decoded) to plain text: pager removed, terminal replayed, ``\\n`` only."""
    return render_terminal(_PAGER.sub("", raw))


def prompt_name(line: str, prompt: re.Pattern[str] = VRP_PROMPT) -> str | None:
    """The sysname if ``line`` is exactly a prompt (``<S5720>``, ``[~CE6850]``), else None."""
    match = prompt.fullmatch(line.rstrip())
    if match is None:
        return None
    return next((name for name in match.groupdict().values() if name), None)


def command_output(cleaned: str, command: str, prompt: re.Pattern[str] = VRP_PROMPT) -> str:
    """The output of ``command`` alone: everything through its echo and the final prompt cut.

    Without an echo (a device that does not echo) the text is kept whole.
    """
    lines = cleaned.split("\n")
    for at, line in enumerate(lines):
        if line.rstrip().endswith(command):
            lines = lines[at + 1 :]
            break
    if lines and prompt_name(lines[-1], prompt) is not None:
        lines = lines[:-1]
    text = "\n".join(lines)
    return text + "\n" if text else ""


def command_error(text: str, error: re.Pattern[str] = VRP_ERROR) -> str | None:
    """``Error: ...`` (``% Invalid input ...``) when the device refused the command: the
    first line after the ``^``."""
    for line in text.split("\n"):
        if not line.strip() or _CARET.fullmatch(line):
            continue
        stripped = line.strip()
        return stripped if error.match(stripped) else None
    return None


def pager_waiting(tail: str) -> bool:
    """The device stopped at ``---- More ----`` and waits for a key."""
    return _PAGER_AT_END.search(tail) is not None


# ---------------------------------------------------------------- the session


class _Received:
    """A command's raw output: the first ``limit`` bytes, and the newest ones for detection."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = b""
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        if len(chunk) > max(room, 0):
            self.truncated = True
        self.tail = (self.tail + chunk)[-TAIL_KEPT:]

    def text(self) -> str:
        return self.head.decode("utf-8", errors="replace")

    def tail_text(self) -> str:
        return self.tail.decode("utf-8", errors="replace")

    def last_line(self) -> str:
        """The line the cursor is on (where a prompt or a question waits), as drawn."""
        return render_terminal(self.tail_text()).rsplit("\n", 1)[-1]

    def shown(self) -> str:
        """The last non-blank line, shortened: for error messages."""
        lines = [x.strip() for x in clean_output(self.tail_text()).split("\n") if x.strip()]
        return lines[-1][:80] if lines else ""


class CliShell:
    """A network CLI on one channel: prompt, paging, one command at a time, quit.

    Blocking; every read is bounded by the deadline it is given. Used by
    :class:`collector.ssh.client.SshConnection` for profiles that have a ``shell``.
    """

    def __init__(
        self, channel: ShellChannel, dialect: ShellDialect, target: str, max_output: int
    ) -> None:
        self._channel = channel
        self.dialect = dialect
        self.target = target
        self.max_output = max_output
        self.name: str | None = None  # the sysname, from the first prompt

    def wait_for_prompt(self, deadline: float) -> str:
        """Read the login banner up to the first prompt; return the sysname.

        A device that asks to change an initial password gets "N" (nothing changes);
        one that shows nothing for :data:`NUDGE_AFTER` seconds gets one empty line.
        """
        started = time.monotonic()
        received = _Received(TAIL_KEPT)
        nudged = answered = False
        while True:
            last = received.last_line()
            name = prompt_name(last, self.dialect.prompt)
            if name is not None:
                self.name = name
                return name
            if not answered and _PASSWORD_CHANGE.search(last):
                self._send("N\n")
                answered = True
            until = deadline if nudged else min(deadline, started + NUDGE_AFTER)
            chunk = self._recv(until, received, "waiting for the CLI prompt")
            if chunk is not None:
                received.add(chunk)
            elif not nudged and time.monotonic() < deadline:
                self._send("\n")
                nudged = True
            else:
                seen = received.shown()
                raise Timeout(
                    f"{self.target}: logged in, but no CLI prompt came "
                    f"within {deadline - started:.1f}s"
                    + (f"; last line shown: {seen!r}" if seen else "; nothing was shown")
                    + ". Check that the device runs the SSH profile's OS (os: in the "
                    "inventory) and that the account may open a shell"
                )

    def run(self, command: str, deadline: float) -> CommandText:
        """Send one command and read its output up to the next prompt, paging as needed."""
        if self.name is None:
            raise RuntimeError("wait_for_prompt() first")
        self._send(command + "\n")
        received = _Received(self.max_output)
        echoed = False
        while True:
            chunk = self._recv(deadline, received, f"running {command!r}")
            if chunk is None:
                raise Timeout(
                    f"{self.target}: {command!r} did not finish (no prompt after it) before "
                    "the inspection budget ran out"
                )
            received.add(chunk)
            if pager_waiting(received.tail_text()):
                self._send(" ")
                continue
            # A prompt counts only after the echo: an earlier one answers an empty line.
            if not echoed:
                head = render_terminal(bytes(received.head[:ECHO_WINDOW]).decode(errors="replace"))
                echoed = any(x.rstrip().endswith(command) for x in head.split("\n")[:-1])
            if echoed and prompt_name(received.last_line(), self.dialect.prompt) == self.name:
                break
        text = command_output(clean_output(received.text()), command, self.dialect.prompt)
        return CommandText(text, command_error(text, self.dialect.error), received.truncated)

    def quit(self, deadline: float) -> None:
        """Leave the CLI and let the device end the session first (briefly).

        Closing our end while the device is closing its own makes the TCP connection end
        in a reset, which paramiko logs as an error; waiting for its EOF avoids that.
        The collected outputs are complete already, so nothing here can fail the result.
        """
        until = min(deadline, time.monotonic() + QUIT_WAIT)
        with contextlib.suppress(OSError):
            self._send(self.dialect.exit + "\n")
            while (remaining := until - time.monotonic()) > 0:
                self._channel.settimeout(remaining)
                if not self._channel.recv(RECV_SIZE):
                    return

    def _send(self, text: str) -> None:
        self._channel.sendall(text.encode("utf-8"))

    def _recv(self, until: float, received: _Received, doing: str) -> bytes | None:
        """The next bytes, or None when ``until`` passed first; EOF is a ConnectError."""
        remaining = until - time.monotonic()
        if remaining <= 0:
            return None
        self._channel.settimeout(remaining)
        try:
            chunk = self._channel.recv(RECV_SIZE)
        except TimeoutError:
            return None
        if not chunk:
            seen = received.shown()
            raise ConnectError(
                f"{self.target} ended the session while {doing}"
                + (f"; last line shown: {seen!r}" if seen else "")
            )
        return chunk
