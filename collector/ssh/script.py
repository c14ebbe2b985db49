"""A whole inspection as one shell script on one exec channel, and the split of its output.

Opening a channel per command makes the customer's sshd start a session and a shell for
each one (ten per full Linux inspection). One script does what an engineer typing
``ssh host 'cmd1; cmd2; ...'`` does: one channel, one shell, and the commands it starts.
After each command the script prints, on stdout and on stderr, a line only this
inspection can print (a random token), with the command's number and, on stdout, its
exit status::

    { LC_ALL=C df -P
    }; printf '\\036WB-<token> %d %d\\n' 3 $?; printf '\\036WB-<token> %d\\n' 3 >&2

(and one mark on each stream before the first command: what the login prints before it
is no command's). So each command keeps its own output, errors and exit status, byte for
byte what it would have printed alone (the mark starts with RS, right after the output,
so output without a final newline stays as it was). A command that is missing gives 127 and the
shell's "not found": that command is not read, the others are.

Pure: no paramiko here. :class:`ScriptOutput` is fed the channel's bytes as they come
and keeps at most ``limit`` bytes per command.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

RS = b"\x1e"


def new_token() -> str:
    """A mark no command's output can contain by chance (64 random bits)."""
    return "WB-" + secrets.token_hex(8)


def build_script(lines: list[str], token: str) -> str:
    """The commands in order, each followed by its marks; POSIX sh syntax."""
    if not re.fullmatch(r"[A-Za-z0-9-]+", token):
        raise ValueError("the token must be letters, digits and '-' only")
    # A first mark on both streams: what comes before it is the login's, not a command's
    # (sshd's "Could not chdir to home directory", an rc file's chatter).
    parts = [f"printf '\\036{token} -\\n'; printf '\\036{token} -\\n' >&2"]
    for number, line in enumerate(lines):
        # The command on a line of its own inside { }: a trailing comment or a "; true"
        # in a profile's line cannot swallow the mark, and $? is the command's.
        parts.append(
            f"{{ {line}\n}}; printf '\\036{token} %d %d\\n' {number} $?; "
            f"printf '\\036{token} %d\\n' {number} >&2"
        )
    return "\n".join(parts) + "\n"


@dataclass
class _Part:
    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False


class _Stream:
    """One of the two streams (stdout, stderr): split at the marks, as bytes arrive."""

    def __init__(self, token: str, limit: int, with_status: bool) -> None:
        self.mark = RS + token.encode("ascii") + b" "
        self.limit = limit
        self.with_status = with_status
        self.parts: list[_Part] = [_Part()]  # until the start mark: the login's output
        self.statuses: list[int] = []
        self._pending = b""  # a possible start of a mark, or a mark's unfinished line

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        self._pending = b""
        while data:
            at = data.find(self.mark)
            if at < 0:
                # Keep back what could be the beginning of a mark split across chunks.
                keep = _partial_suffix(data, self.mark)
                self._add(data[: len(data) - keep])
                self._pending = data[len(data) - keep :]
                return
            self._add(data[:at])
            end = data.find(b"\n", at)
            if end < 0:
                self._pending = data[at:]
                return
            self._close_part(data[at + len(self.mark) : end])
            data = data[end + 1 :]

    def finish(self) -> None:
        """The stream ended: what is pending was output, not a mark."""
        self._add(self._pending)
        self._pending = b""

    def _add(self, data: bytes) -> None:
        if not data:
            return
        part = self.parts[-1]
        room = self.limit - len(part.data)
        if room > 0:
            part.data += data[:room]
        if len(data) > max(room, 0):
            part.truncated = True

    def _close_part(self, fields: bytes) -> None:
        values = fields.split()
        if values == [b"-"]:  # the start mark: the part before it is the login's
            self.parts = [_Part()]
            return
        if self.with_status:
            try:
                self.statuses.append(int(values[1]))
            except (IndexError, ValueError):
                self.statuses.append(-1)
        self.parts.append(_Part())


def _partial_suffix(data: bytes, mark: bytes) -> int:
    """The length of the longest end of ``data`` that begins ``mark``."""
    start = data.rfind(RS, max(len(data) - len(mark) + 1, 0))
    if start >= 0 and mark.startswith(data[start:]):
        return len(data) - start
    return 0


@dataclass(frozen=True)
class CommandResult:
    stdout: bytes
    stderr: bytes
    status: int | None  # None: the script ended before this command's mark
    truncated: bool


class ScriptOutput:
    """Feed stdout and stderr chunks in any interleaving; :meth:`results` at the end."""

    def __init__(self, token: str, count: int, limit: int) -> None:
        self.count = count
        self.stdout = _Stream(token, limit, with_status=True)
        self.stderr = _Stream(token, limit, with_status=False)

    def results(self) -> list[CommandResult]:
        """One per command; those after the last mark seen have no status."""
        self.stdout.finish()
        self.stderr.finish()
        out = []
        for number in range(self.count):
            stdout = _part(self.stdout.parts, number)
            stderr = _part(self.stderr.parts, number)
            statuses = self.stdout.statuses
            status = statuses[number] if number < len(statuses) else None
            if status is not None and status < 0:
                status = None
            out.append(
                CommandResult(bytes(stdout.data), bytes(stderr.data), status, stdout.truncated)
            )
        return out


def _part(parts: list[_Part], number: int) -> _Part:
    return parts[number] if number < len(parts) else _Part()
