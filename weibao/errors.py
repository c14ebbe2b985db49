"""weibao's own errors; library errors are translated into these at the edges.

WeibaoError
├── ConfigError           a file (inventory, rules) is invalid; carries every Problem
├── SecretMissing         an env:/file: reference cannot be resolved now
└── InspectionError       one device could not be inspected (a result, not a crash)
    ├── ConnectError      refused, reset, unreachable
    ├── AuthError         wrong community, user, key or password
    ├── Timeout           no answer within the inspection's budget
    ├── HostKeyMismatch   SSH host key unknown or changed
    └── ProtocolError     the device answered something we cannot read
"""

from __future__ import annotations

from dataclasses import dataclass


class WeibaoError(Exception):
    """Base of every error weibao raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, located for the user: ``FILE:LINE: path: message``."""

    file: str
    line: int | None
    path: str
    message: str
    hint: str = ""
    severity: str = "error"  # or "warning"

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.path}:" if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        text = f"{where}:{field} {prefix}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class ConfigError(WeibaoError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s):\n" + "\n".join(p.format() for p in errors))


class SecretMissing(WeibaoError):
    """The reference names a variable or file that is not there; the secret is never shown."""


class InspectionError(WeibaoError):
    retryable = False


class ConnectError(InspectionError):
    retryable = True


class AuthError(InspectionError):
    pass


class Timeout(InspectionError):
    retryable = True


class HostKeyMismatch(InspectionError):
    pass


class ProtocolError(InspectionError):
    pass
