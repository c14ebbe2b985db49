"""Small trend lines of a device's samples, drawn as inline SVG points.

No chart library and no script: the server computes a polyline in a fixed box, so the
line shows on a phone, in a screenshot and without JavaScript. Series are keyed like
Prometheus (``name{label="v"}``) so the firing sample finds its own history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from desk.web.views.common import parse_time

WIDTH = 120.0
HEIGHT = 24.0


def series_key(sample: dict[str, Any]) -> str:
    labels = sample.get("labels") or {}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{sample.get('name')}{{{inner}}}" if inner else str(sample.get("name"))


@dataclass(frozen=True)
class Trend:
    key: str
    points: str
    """``x,y x,y ...`` for an SVG polyline in a WIDTH x HEIGHT box."""
    last: float
    low: float
    high: float
    count: int


def polyline(values: Sequence[float]) -> str:
    """Oldest value at the left; a flat series draws a line through the middle."""
    if not values:
        return ""
    low, high = min(values), max(values)
    spread = high - low
    step = WIDTH / (len(values) - 1) if len(values) > 1 else 0.0
    points = []
    for i, v in enumerate(values):
        y = HEIGHT / 2 if spread == 0 else HEIGHT - 2 - (v - low) / spread * (HEIGHT - 4)
        points.append(f"{i * step:.1f},{y:.1f}")
    if len(points) == 1:
        points.append(f"{WIDTH:.1f},{points[0].split(',')[1]}")
    return " ".join(points)


def trends(
    observations: Iterable[dict[str, Any]], wanted: Iterable[str], limit: int = 8
) -> list[Trend]:
    """Trend lines of the ``wanted`` series (or, without any, the first ``limit`` found)
    over ``observations`` (newest first, as :meth:`Store.recent_observations` gives)."""
    history: dict[str, list[float]] = {}
    for obs in sorted(observations, key=_time):
        for sample in obs.get("samples") or []:
            if not isinstance(sample, dict) or not isinstance(sample.get("value"), int | float):
                continue
            history.setdefault(series_key(sample), []).append(float(sample["value"]))
    keys = [k for k in dict.fromkeys(wanted) if k in history] or list(history)
    out = []
    for key in keys[:limit]:
        values = history[key]
        out.append(Trend(key, polyline(values), values[-1], min(values), max(values), len(values)))
    return out


def _time(obs: dict[str, Any]) -> float:
    at = parse_time(obs.get("time"))
    return at.timestamp() if at is not None else 0.0
