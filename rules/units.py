"""Numbers with units in rule conditions, checked against the unit of the sample.

A rule author writes ``gte: 90%`` for a ratio, ``lt: 10m`` for uptime or ``gt: 75C`` for
a temperature; the compiler turns each into the sample's own unit (0.9, 600, 75) once,
at load, and refuses a unit that does not fit the sample (``90%`` of ``uptime_seconds``,
or ``90`` for a ratio that runs 0..1). Units come from :mod:`weibao.vocabulary`, plus the
few names the rules add (:data:`EXTRA_UNITS`).
"""

from __future__ import annotations

import re
from typing import Any

from weibao.durations import parse_duration
from weibao.vocabulary import BY_NAME

# Sample names the rule engine knows beyond the shared vocabulary: name -> (unit, labels).
# ``*_timestamp`` values are Unix seconds; the engine makes the inventory ones itself.
EXTRA_UNITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "raid_state": ("state", ("array", "state")),
    "log_error_lines": ("count", ("source", "text")),
    "warranty_end_timestamp": ("timestamp", ()),
    "contract_end_timestamp": ("timestamp", ("contract",)),
    "end_of_support_timestamp": ("timestamp", ("component", "product")),
}

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_BYTES = {
    "b": 1,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_BITS = {"bps": 1, "kbps": 1e3, "mbps": 1e6, "gbps": 1e9}
_PER = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_EXAMPLES = {
    "ratio": "90% or 0.9",
    "seconds": "30s, 10m or 2h",
    "minutes": "10m or 10 (minutes)",
    "timestamp": "90d",
    "celsius": "75C or 75",
    "bytes": "500MB or 2GiB",
    "bits/s": "1Gbps",
    "1/s": "10/s or 600/m",
    "bool": "true, false, 1 or 0",
    "count": "a plain number, e.g. 5",
    "state": "use labels: to match the state text",
}


def unit_of(sample: str) -> str | None:
    """The unit of a sample name, or None when the name is not in any vocabulary."""
    spec = BY_NAME.get(sample)
    if spec is not None:
        return spec.unit
    extra = EXTRA_UNITS.get(sample)
    return extra[0] if extra else None


def labels_of(sample: str) -> tuple[str, ...] | None:
    """The labels the vocabulary promises for a sample, or None when it is unknown."""
    spec = BY_NAME.get(sample)
    if spec is not None:
        return spec.labels
    extra = EXTRA_UNITS.get(sample)
    return extra[1] if extra else None


def known_samples() -> list[str]:
    return sorted({*BY_NAME, *EXTRA_UNITS})


def example(unit: str | None) -> str:
    return _EXAMPLES.get(unit or "", "a plain number")


def parse_quantity(raw: Any, unit: str | None, *, delta: bool = False) -> float:
    """``raw`` (``90%``, ``10m``, ``true`` ...) in the sample's unit.

    ``delta`` is for differences (``change``), which may exceed a ratio's 0..1 range
    downwards. Raises ValueError saying what to write instead.
    """
    if isinstance(raw, bool):
        if unit not in ("bool", None):
            raise ValueError(f"true/false compares only with 1/0 samples; write {example(unit)}")
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        value = float(raw)
        if unit == "ratio" and not -1.0 <= value <= 1.0:
            raise ValueError(f"{raw} is outside 0..1 for a ratio: write {raw}% or {raw / 100:g}")
        if unit == "bool" and value not in (0.0, 1.0) and not delta:
            raise ValueError(f"{raw} is not 0 or 1 for a true/false sample")
        return value
    if not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not a number: write {example(unit)}")
    match = _NUMBER.match(raw)
    if match is None:
        raise ValueError(f"{raw!r} is not a number with a unit: write {example(unit)}")
    number, suffix = float(match.group(1)), match.group(2)
    if not suffix:
        return parse_quantity(number, unit, delta=delta)
    converted = _with_unit(raw, number, suffix, unit)
    if converted is None:
        what = f"the unit of a {unit} sample" if unit else "a plain number (unknown sample)"
        raise ValueError(f"{raw!r}: '{suffix}' is not {what}; write {example(unit)}")
    return converted


def parse_rate(raw: Any, unit: str | None) -> float:
    """A change per second: ``5%/h`` for a ratio, ``100/s``; a bare number is per second."""
    if isinstance(raw, str) and "/" in raw and unit != "1/s":
        amount, _, per = raw.rpartition("/")
        seconds = _PER.get(per.strip().lower())
        if seconds is None:
            raise ValueError(f"{raw!r}: write the period as /s, /m, /h or /d")
        return parse_quantity(amount, unit, delta=True) / seconds
    return parse_quantity(raw, unit, delta=True)


def parse_seconds(raw: Any) -> float:
    """A duration such as ``90d`` or ``-5m`` in seconds (for ``until``)."""
    if isinstance(raw, str) and raw.strip().startswith("-"):
        return -parse_duration(raw.strip()[1:]).total_seconds()
    if isinstance(raw, bool):
        raise ValueError("write a duration such as 90d")
    return parse_duration(raw).total_seconds()


def _with_unit(raw: str, number: float, suffix: str, unit: str | None) -> float | None:
    low = suffix.lower()
    if unit == "ratio" and suffix == "%":
        return number / 100
    if unit in ("seconds", "minutes", "timestamp"):
        sign = -1.0 if raw.strip().startswith("-") else 1.0
        try:
            seconds = parse_duration(raw.strip().lstrip("+-")).total_seconds()
        except ValueError:
            return None
        return sign * (seconds / 60 if unit == "minutes" else seconds)
    if unit == "celsius" and low in ("c", "°c"):
        return number
    if unit == "bytes" and low in _BYTES:
        return number * _BYTES[low]
    if unit == "bits/s" and low in _BITS:
        return number * _BITS[low]
    if unit == "1/s" and low.startswith("/") and low[1:] in _PER:
        return number / _PER[low[1:]]
    return None
