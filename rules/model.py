"""A compiled rule and the rule set: what the engine runs, checked and indexed.

Everything here is immutable and built once at load: conditions are predicate objects,
templates are parsed, durations are seconds, and the rule set indexes rules by the
sample name they read, so an observation only meets the rules that care about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.conditions import DeviceTest, Facts, Predicate, TextTest
from rules.templates import Template
from weibao.levels import Level

INVENTORY_SOURCE = "inventory"


@dataclass(frozen=True)
class Flapping:
    """More than ``transitions`` changes within ``window`` seconds: hold the alarm."""

    transitions: int
    window: float


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    sample: str | None
    selector: DeviceTest
    where: tuple[TextTest, ...]
    condition: Predicate
    clear: Predicate | None
    for_seconds: float
    keep_firing_for: float
    level: Level
    cases: tuple[tuple[Predicate, Level], ...]
    fingerprint: tuple[str, ...]
    labels: Mapping[str, str]
    title: Template
    description: Template
    knowledge: str
    topology: str
    maintenance: str
    collapse: str
    flapping: Flapping | None
    no_data: float | None
    needs_prev: bool
    file: str = ""
    line: int | None = None
    fault: str = ""
    """The fault this rule reports: its own id, or (``fault:``) another rule's, whose
    alarms it shares a fingerprint and so a ticket with."""

    @property
    def fault_id(self) -> str:
        return self.fault or self.id

    @property
    def levels(self) -> frozenset[Level]:
        """Every level this rule can give: its default and its cases'."""
        return frozenset({self.level, *(level for _, level in self.cases)})

    @property
    def sweeps(self) -> bool:
        """Evaluated for every device at each evaluation, not when a sample arrives."""
        return self.no_data is not None or self.source_is_inventory

    @property
    def source_is_inventory(self) -> bool:
        return self.selector.source is not None and INVENTORY_SOURCE in self.selector.source

    def level_for(self, facts: Facts) -> Level:
        """The first case that holds, else the rule's level."""
        for when, level in self.cases:
            if when.holds(facts):
                return level
        return self.level

    def selects(self, labels: Mapping[str, str]) -> bool:
        return all(test.check(labels) for test in self.where)


@dataclass(frozen=True)
class RuleSet:
    """The loaded rules, indexed by sample name."""

    rules: tuple[Rule, ...]
    flapping: Flapping | None
    by_sample: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    sweeping: tuple[Rule, ...] = ()
    change_samples: frozenset[str] = frozenset()

    @classmethod
    def build(cls, rules: Iterable[Rule], flapping: Flapping | None) -> RuleSet:
        ordered = tuple(sorted(rules, key=lambda r: r.id))
        by_sample: dict[str, list[Rule]] = {}
        for rule in ordered:
            if rule.sample is not None and not rule.sweeps:
                by_sample.setdefault(rule.sample, []).append(rule)
        return cls(
            rules=ordered,
            flapping=flapping,
            by_sample={name: tuple(rs) for name, rs in by_sample.items()},
            sweeping=tuple(r for r in ordered if r.sweeps),
            change_samples=frozenset(r.sample for r in ordered if r.needs_prev and r.sample),
        )

    def get(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None
