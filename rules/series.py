"""One fault's life: idle, pending (``for:``), firing, and back, with flapping held.

A :class:`Series` is keyed by the alarm's fingerprint and advanced by :func:`step` with
each new verdict of its rule. The rules of the machine, in order:

- a true condition starts ``pending``; it fires once it has held for ``for:`` seconds
  (at once when ``for:`` is 0), less :data:`FOR_SLACK`: inspections every 60 s arrive
  59.999 s apart now and then, and ``for: 1m`` must not wait a whole extra inspection
  for a millisecond. A false condition while pending forgets it.
- a firing alarm clears only when the clear condition holds (hysteresis: ``clear:``,
  else the condition being false) and the condition has been false for
  ``keep_firing_for``.
- each fire and clear is a transition; more than ``transitions`` of them within
  ``window`` seconds marks the series flapping, and a flapping alarm is *held* firing
  instead of clearing. :func:`settle` releases it once no transition happened for a
  whole window: cleared if the fault is gone, unmarked if it stayed.
- a verdict older than the series' last one is ignored (an agent's spool replaying).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rules.model import Flapping, Rule


class Event(StrEnum):
    stale = "stale"
    none = "none"
    pending = "pending"
    reset = "reset"
    fired = "fired"
    confirmed = "confirmed"
    holding = "holding"
    held = "held"
    cleared = "cleared"
    steadied = "steadied"


class Phase(StrEnum):
    idle = "idle"
    pending = "pending"
    firing = "firing"


@dataclass
class Series:
    rule: str
    device: str
    labels: dict[str, str]
    source: str
    phase: Phase = Phase.idle
    since: float = 0.0
    t: float = float("-inf")
    last_true: float | None = None
    raw: bool = False
    flips: list[float] = field(default_factory=list)
    flapping: bool = False
    alarm: dict[str, Any] | None = None
    shown: str = ""
    window: str = ""
    # When a dependant's hold began after its root came back (see rules.report).
    held_at: float | None = None

    @property
    def active(self) -> bool:
        return self.phase is Phase.firing

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "device": self.device,
            "labels": self.labels,
            "source": self.source,
            "phase": self.phase.value,
            "since": self.since,
            "t": self.t,
            "raw": self.raw,
        }
        optional = {
            "last_true": self.last_true,
            "flips": self.flips,
            "flapping": self.flapping,
            "alarm": self.alarm,
            "shown": self.shown,
            "window": self.window,
            "held_at": self.held_at,
        }
        out.update({k: v for k, v in optional.items() if v})
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Series:
        return cls(
            rule=data["rule"],
            device=data["device"],
            labels=dict(data.get("labels", {})),
            source=data.get("source", ""),
            phase=Phase(data.get("phase", "idle")),
            since=float(data.get("since", 0.0)),
            t=float(data.get("t", float("-inf"))),
            last_true=data.get("last_true"),
            raw=bool(data.get("raw", False)),
            flips=list(data.get("flips", [])),
            flapping=bool(data.get("flapping", False)),
            alarm=data.get("alarm"),
            shown=data.get("shown", ""),
            window=data.get("window", ""),
            held_at=data.get("held_at"),
        )


FOR_SLACK = 1.0  # seconds of timing jitter forgiven in ``for:``


def step(series: Series, rule: Rule, t: float, cond: bool, clear: bool) -> Event:
    """Advance ``series`` with the rule's verdict at time ``t``."""
    if t < series.t:
        return Event.stale
    series.t = t
    if cond:
        series.last_true = t
    if series.phase is Phase.idle:
        if not cond:
            return Event.none
        series.phase, series.since = Phase.pending, t
    if series.phase is Phase.pending:
        if not cond:
            series.phase = Phase.idle
            return Event.reset
        if t - series.since < rule.for_seconds - FOR_SLACK:
            return Event.pending
        series.phase, series.since, series.raw = Phase.firing, t, True
        _flip(series, rule.flapping, t)
        return Event.fired
    if cond:
        if not series.raw:
            series.raw = True
            _flip(series, rule.flapping, t)
        return Event.confirmed
    kept = series.last_true is not None and t - series.last_true < rule.keep_firing_for
    if not clear or kept:
        return Event.holding
    if series.raw:
        series.raw = False
        _flip(series, rule.flapping, t)
    if series.flapping:
        return Event.held
    series.phase, series.since = Phase.idle, t
    return Event.cleared


def settle(series: Series, rule: Rule, now: float) -> Event:
    """Release a flapping alarm that has been calm for a whole window."""
    flap = rule.flapping
    if not series.flapping or flap is None:
        return Event.none
    if any(f > now - flap.window for f in series.flips):
        return Event.none
    series.flapping = False
    series.flips = []
    if series.raw:
        return Event.steadied
    series.phase, series.since = Phase.idle, now
    return Event.cleared


def forgettable(series: Series, rule: Rule | None, now: float) -> bool:
    """An idle series with no transition left in its window carries no memory."""
    if series.phase is not Phase.idle:
        return False
    flap = rule.flapping if rule is not None else None
    return flap is None or not any(f > now - flap.window for f in series.flips)


def _flip(series: Series, flap: Flapping | None, t: float) -> None:
    if flap is None:
        return
    recent = [f for f in series.flips if f > t - flap.window]
    recent.append(t)
    series.flips = recent[-(flap.transitions + 1) :]
    if len(series.flips) > flap.transitions:
        series.flapping = True
