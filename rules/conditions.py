"""Compiled conditions: small predicate objects over the facts of one sample.

Built once from :class:`~rules.schema.ConditionSpec` by the compiler, with every
operator, unit and regular expression already checked, so evaluation is plain
comparisons and can neither fail nor touch anything outside the facts it is given. No
``eval``: a condition is data, in the spirit of netbox's ``extras/conditions.py``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from weibao.inventory.model import DeviceContext
from weibao.observation import Sample

NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


@dataclass(frozen=True)
class Facts:
    """What a condition may look at: one sample (or none, for no-data) and its device.

    ``prev`` is the previous (time, value) of the same series when the rule needs it for
    ``change`` or ``rate``; ``siblings`` are the observation's samples by name, for
    ``join``; ``silent_for`` is the seconds since the device last reported (no-data);
    ``meta`` is the observation's context, for templates only.
    """

    t: float
    value: float
    labels: Mapping[str, str]
    ctx: DeviceContext
    source: str
    prev: tuple[float, float] | None = None
    siblings: Mapping[str, Sequence[Sample]] | None = None
    silent_for: float | None = None
    meta: Mapping[str, str] | None = None


class Predicate(Protocol):
    def holds(self, facts: Facts) -> bool: ...


@dataclass(frozen=True)
class NumberTest:
    """``value``, ``change``, ``rate`` or ``until`` compared with constants."""

    operand: str
    tests: tuple[tuple[str, float], ...]
    members: frozenset[float] | None = None
    excluded: frozenset[float] | None = None

    def holds(self, facts: Facts) -> bool:
        x = self._operand(facts)
        if x is None:
            return False
        if self.members is not None and x not in self.members:
            return False
        if self.excluded is not None and x in self.excluded:
            return False
        return all(NUMERIC_OPS[op](x, bound) for op, bound in self.tests)

    def _operand(self, facts: Facts) -> float | None:
        if self.operand == "value":
            return facts.value
        if self.operand == "until":
            return facts.value - facts.t
        if facts.prev is None:
            return None
        change = facts.value - facts.prev[1]
        if self.operand == "change":
            return change
        elapsed = facts.t - facts.prev[0]
        return change / elapsed if elapsed > 0 else None


@dataclass(frozen=True)
class TextTest:
    """Tests on one label's text; an absent label is the empty string."""

    label: str
    eq: str | None = None
    ne: str | None = None
    members: frozenset[str] | None = None
    excluded: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    anti_pattern: re.Pattern[str] | None = None
    present: bool | None = None

    def holds(self, facts: Facts) -> bool:
        return self.check(facts.labels)

    def check(self, labels: Mapping[str, str]) -> bool:
        text = labels.get(self.label, "")
        return (
            (self.eq is None or text == self.eq)
            and (self.ne is None or text != self.ne)
            and (self.members is None or text in self.members)
            and (self.excluded is None or text not in self.excluded)
            and (self.pattern is None or self.pattern.search(text) is not None)
            and (self.anti_pattern is None or self.anti_pattern.search(text) is None)
            and (self.present is None or bool(text) == self.present)
        )


@dataclass(frozen=True)
class DeviceTest:
    """The device (and the source) belong to a selection; empty fields select all."""

    kind: frozenset[str] | None = None
    vendor: frozenset[str] | None = None
    model: frozenset[str] | None = None
    role: frozenset[str] | None = None
    criticality: frozenset[str] | None = None
    tags: frozenset[str] | None = None
    source: frozenset[str] | None = None
    name: frozenset[str] | None = None

    def holds(self, facts: Facts) -> bool:
        return self.selects(facts.ctx) and (self.source is None or facts.source in self.source)

    def selects(self, ctx: DeviceContext) -> bool:
        device = ctx.device
        return (
            _has(self.kind, device.kind.value)
            and _has(self.vendor, device.vendor)
            and _has(self.model, device.model)
            and _has(self.role, device.role)
            and _has(self.criticality, device.criticality.value)
            and _has(self.name, device.name)
            and (self.tags is None or any(t.casefold() in self.tags for t in device.tags))
        )


def _has(allowed: frozenset[str] | None, value: str | None) -> bool:
    return allowed is None or (value is not None and value.casefold() in allowed)


@dataclass(frozen=True)
class JoinTest:
    """Another sample of the same observation, with the same ``by`` labels, passes tests."""

    sample: str
    by: tuple[str, ...]
    value: NumberTest | None
    labels: tuple[TextTest, ...]
    missing: bool

    def holds(self, facts: Facts) -> bool:
        found = False
        for other in (facts.siblings or {}).get(self.sample, ()):
            if any(other.labels.get(k, "") != facts.labels.get(k, "") for k in self.by):
                continue
            found = True
            numeric = Facts(facts.t, other.value, other.labels, facts.ctx, facts.source)
            if (self.value is None or self.value.holds(numeric)) and all(
                test.check(other.labels) for test in self.labels
            ):
                return True
        return self.missing and not found


@dataclass(frozen=True)
class NoData:
    """The device has not reported through this source for ``seconds``."""

    seconds: float

    def holds(self, facts: Facts) -> bool:
        return facts.silent_for is not None and facts.silent_for >= self.seconds


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Predicate, ...]

    def holds(self, facts: Facts) -> bool:
        return all(p.holds(facts) for p in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Predicate, ...]

    def holds(self, facts: Facts) -> bool:
        return any(p.holds(facts) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Predicate

    def holds(self, facts: Facts) -> bool:
        return not self.part.holds(facts)
