"""The rule engine's contract with the desk: state in, observations and time in,
alarms and new state out. No I/O and no clock inside, so the same input always gives
the same output.

The desk holds one :class:`EngineState`, passes it to :meth:`Engine.evaluate` with each
batch of observations and the current time, keeps the returned state, and persists it
(``EngineState.to_json``) so a restart does not forget pending ``for:`` timers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from weibao.inventory.model import Inventory
from weibao.observation import Alarm, Observation


@dataclass(frozen=True)
class EngineState:
    """Opaque to the desk: whatever the engine needs to remember between evaluations.

    ``data`` must stay JSON-serialisable.
    """

    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> EngineState:
        return cls(json.loads(text) if text else {})


@dataclass(frozen=True)
class Evaluation:
    """The result of one evaluation.

    ``firing``: active alarms that something happened to in this evaluation: new ones,
    ones an observation of this batch confirmed, and ones whose level, labels or
    suppression changed (the desk dedupes by fingerprint and records each as evidence).
    An active alarm nothing happened to is not repeated. ``cleared``: alarms that
    stopped being active in this evaluation. ``suppressed``: alarms held back (topology,
    maintenance), recorded but not ticketed, each with what suppresses it in its labels
    (``suppressed_by``: the root alarm's fingerprint, or ``maintenance``) and why
    (``suppressed_reason``).
    """

    firing: list[Alarm]
    cleared: list[Alarm]
    state: EngineState
    suppressed: list[Alarm] = field(default_factory=list)


class Engine(Protocol):
    def evaluate(
        self,
        state: EngineState,
        observations: Sequence[Observation],
        now: datetime,
        inventory: Inventory,
    ) -> Evaluation: ...
