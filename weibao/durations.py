"""Durations as people write them in inventory and rule files: ``30s``, ``20m``, ``4h``,
``3d``, or combined like ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse ``"1h30m"`` into a timedelta; a bare number is seconds.

    Raises ValueError with an example of the accepted form.
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration: write e.g. 30s, 20m, 4h or 3d")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"duration {text!r} is negative")
        return timedelta(seconds=text)
    raw = str(text).strip().lower().replace(" ", "")
    if not raw:
        raise ValueError("empty duration: write e.g. 30s, 20m, 4h or 3d")
    pos = 0
    total = timedelta()
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw):
        raise ValueError(f"{text!r} is not a duration: write e.g. 30s, 20m, 4h, 3d or 1h30m")
    return total


def format_duration(delta: timedelta) -> str:
    """The inverse of parse_duration, for messages: ``timedelta(minutes=90)`` is ``1h30m``."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + "".join(out)
