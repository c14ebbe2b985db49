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

    ``firing``: every alarm that is active after this evaluation (new or continuing; the
    desk dedupes by fingerprint). ``cleared``: alarms that stopped firing in this
    evaluation. ``suppressed``: alarms held back (topology, maintenance), recorded but
    not ticketed, each with the fingerprint of what suppresses it in its labels
    (``suppressed_by``).
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
