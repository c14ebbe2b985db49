"""What every part of the inventory schema uses to read a field: the error with a hint,
and the readers of durations and secret references.

A module of its own so the schema's parts (:mod:`weibao.inventory.model`,
:mod:`~weibao.inventory.notify`, ...) import it and not each other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from weibao.durations import parse_duration
from weibao.secrets import PREFIXES, SecretRef

SECRET_HINT = (
    "write a reference instead: env:NAME (an environment variable of the weibao service) "
    "or file:/path (a file only weibao can read); the inventory gets copied, mailed and "
    "committed, so it must never hold the secret itself"
)
DURATION_HINT = "write a duration such as 30s, 20m, 4h, 3d or 1h30m"


class InvalidValue(ValueError):
    """A ValueError with a hint for the user; pydantic keeps it in the error's context."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def to_duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        # parse_duration's own text already ends in an example; keep only the diagnosis.
        raise InvalidValue(str(exc).split(": write")[0], DURATION_HINT) from None


def to_secret(value: Any) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if not isinstance(value, str) or not value.startswith(PREFIXES):
        # Never repeat the value: it is probably the real password or community.
        raise InvalidValue(
            "a literal secret is written here; only references are allowed", SECRET_HINT
        )
    try:
        return SecretRef.parse(value)
    except ValueError as exc:
        raise InvalidValue(str(exc), SECRET_HINT) from None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'address'?`` for a near miss, else the empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
