"""The rule engine's contract with the desk: state in, observations and time in,
alarms and new state out. No I/O and no clock inside, so the same input always gives
the same output.

The state is kept per device (:meth:`EngineState.device` and
:meth:`EngineState.of_devices`), so a caller with a large fleet need not hold it whole:
the desk stores one row per device, hands in the devices of a batch and their upstreams
(``scope``), plus the small index of topology series that are not idle, and writes back
the devices of :attr:`Evaluation.changed`. It asks for the sweep (silence, flapping,
removed devices) on its own rounds (``sweep=True``), for the devices
:meth:`Engine.sweep_scope` names. A caller that keeps the whole state (rule tests,
``weibao rules test``) leaves ``scope`` and ``sweep`` unset: the engine then sweeps every
:data:`rules.evaluation.SWEEP_EVERY` seconds of ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from weibao.inventory.model import Inventory
from weibao.observation import Alarm, Observation


@dataclass(frozen=True)
class EngineState:
    """What the engine remembers between evaluations; opaque to the desk but for its
    division by device.

    ``data`` must stay JSON-serialisable. ``scope``: the devices whose memory ``data``
    holds, when it holds only some (None: every device). ``sweep``: run the sweep in this
    evaluation (True), not (False), or when it is due (None).
    """

    data: dict[str, Any] = field(default_factory=dict)
    scope: frozenset[str] | None = None
    sweep: bool | None = None

    def to_json(self) -> str:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> EngineState:
        return cls(json.loads(text) if text else {})

    def device(self, name: str) -> dict[str, Any]:
        """One device's memory, to store on its own (empty: nothing to remember)."""
        return {
            section: self.data[section][name]
            for section in DEVICE_SECTIONS
            if name in self.data.get(section, {})
        }

    def topology_of(self, name: str) -> dict[str, list[Any]]:
        """The topology index entries of one device (its series that topology reads)."""
        return {fp: e for fp, e in self.data.get("topology", {}).items() if e[1] == name}

    @classmethod
    def of_devices(
        cls,
        devices: Mapping[str, Mapping[str, Any]],
        topology: Mapping[str, list[Any]],
        sweep: bool,
    ) -> EngineState:
        """A state of some devices (their :meth:`device` memory) and the topology index of
        the whole fleet (at least every not-idle entry of a topology rule)."""
        data: dict[str, Any] = {section: {} for section in DEVICE_SECTIONS}
        data["version"] = STATE_VERSION
        data["topology"] = dict(topology)
        for name, memory in devices.items():
            for section, value in memory.items():
                if section in DEVICE_SECTIONS:
                    data[section][name] = value
        return cls(data, scope=frozenset(devices), sweep=sweep)


DEVICE_SECTIONS = ("series", "seen", "prev")
STATE_VERSION = 3


class DeviceSummary(NamedTuple):
    """What the desk keeps beside a device's memory to choose the sweep's devices."""

    sweep_after: float | None
    """Unix time from which the sweep must look at the device (it has series, or one of
    its sources may be silent by then); None: not unless the inventory says so."""
    topology: dict[str, list[Any]]
    """Its entries of the topology index (empty: nothing for topology to read)."""


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
    changed: dict[str, DeviceSummary] = field(default_factory=dict)
    """The devices whose memory changed (to write back), with their summaries."""


class Engine(Protocol):
    def evaluate(
        self,
        state: EngineState,
        observations: Sequence[Observation],
        now: datetime,
        inventory: Inventory,
    ) -> Evaluation: ...

    def sweep_scope(
        self, inventory: Inventory, now: datetime, stored: Mapping[str, float | None]
    ) -> set[str]:
        """The devices the sweep must see now, from each stored device's ``sweep_after``."""
        ...
