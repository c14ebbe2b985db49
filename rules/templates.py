"""Alarm titles and descriptions from ``{field}`` and ``{field|filter}`` templates.

Deliberately smaller than ``str.format`` or Jinja: a fixed set of fields and filters,
checked when the rule is loaded, so a template can neither reach into Python objects
nor fail at three in the morning. ``{{`` and ``}}`` write literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from weibao.durations import format_duration

FIELDS = frozenset(
    {
        "device",
        "rule",
        "level",
        "value",
        "source",
        "kind",
        "vendor",
        "model",
        "role",
        "site",
        "customer",
        "contract",
        "for",
        "until",
    }
)
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"^\s*([a-z_]+(?:\.[A-Za-z0-9_.-]+)?)\s*(?:\|\s*([a-z_]+)\s*)?$")


def format_number(value: float) -> str:
    """At most two decimals, no trailing zeros: 0.5, 12, 3.14."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


Filter = Callable[[str, tzinfo], str]


def _numeric(fn: Callable[[float], str]) -> Filter:
    def apply(text: str, tz: tzinfo) -> str:
        number = _as_float(text)
        return text if number is None else fn(number)

    return apply


def _from_now(seconds: float) -> str:
    """``in 38 days``, ``today`` or ``54 days ago``: a date already past must read as past."""
    days = int(abs(seconds) // 86400)
    if days == 0:
        return "today"
    unit = "day" if days == 1 else "days"
    return f"in {days} {unit}" if seconds > 0 else f"{days} {unit} ago"


def _ends(seconds: float) -> str:
    """``ends in 20 days``, ``ends today``, ``ended today`` or ``ended 69 days ago``: the
    verb in the tense the date is in, for titles of things that end (warranty, contract)."""
    days = int(abs(seconds) // 86400)
    unit = "day" if days == 1 else "days"
    if seconds >= 0:
        return "ends today" if days == 0 else f"ends in {days} {unit}"
    return "ended today" if days == 0 else f"ended {days} {unit} ago"


def _date(text: str, tz: tzinfo) -> str:
    number = _as_float(text)
    return text if number is None else datetime.fromtimestamp(number, tz).date().isoformat()


FILTERS: dict[str, Filter] = {
    "pct": _numeric(lambda x: f"{x * 100:.1f}".rstrip("0").rstrip(".") + "%"),
    "int": _numeric(lambda x: str(round(x))),
    "num": _numeric(format_number),
    "duration": _numeric(lambda x: format_duration(timedelta(seconds=round(x)))),
    "days": _numeric(lambda x: str(int(x // 86400))),
    "from_now": _numeric(_from_now),
    "ends": _numeric(_ends),
    "date": _date,
    "upper": lambda text, tz: text.upper(),
}


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and (field, filter) holes in order."""

    parts: tuple[str | tuple[str, str | None], ...]

    def render(self, values: Mapping[str, str], tz: tzinfo = UTC) -> str:
        """Fill the holes; ``tz`` is the site's, for the ``date`` filter."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, filt = part
            text = values.get(name, "")
            out.append(FILTERS[filt](text, tz) if filt else text)
        return "".join(out)


def parse_template(text: str) -> Template:
    """Parse ``text``; raise ValueError naming the bad field or filter."""
    parts: list[str | tuple[str, str | None]] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
            continue
        if match.group(1) is None:
            raise ValueError(
                f"unbalanced '{token}' at position {match.start()}: write {{{{ or }}}}"
            )
        field = _FIELD.match(match.group(1))
        if field is None:
            raise ValueError(f"{{{match.group(1)}}} is not a field: write e.g. {{device}}")
        name, filt = field.group(1), field.group(2)
        if not (name in FIELDS or name.startswith(("labels.", "meta."))):
            raise ValueError(
                f"unknown field {{{name}}}: use labels.NAME, meta.NAME or one of "
                + ", ".join(sorted(FIELDS))
            )
        if filt is not None and filt not in FILTERS:
            raise ValueError(f"unknown filter |{filt}: use one of {', '.join(sorted(FILTERS))}")
        parts.append((name, filt))
    parts.append(text[pos:])
    return Template(tuple(p for p in parts if p != ""))
