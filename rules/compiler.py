"""From a validated :class:`~rules.schema.RuleSpec` to a runnable :class:`~rules.model.Rule`.

Pydantic has checked the shape; this checks the meaning, and reports each problem at
its line: units that do not fit the sample, regular expressions that do not compile,
template fields that do not exist, ``no_data`` anywhere but alone at the top of a
condition, inventory rules on samples the inventory cannot give.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from rules import units
from rules.conditions import (
    AllOf,
    AnyOf,
    DeviceTest,
    JoinTest,
    NoData,
    Not,
    NumberTest,
    Predicate,
    TextTest,
)
from rules.model import INVENTORY_SOURCE, Flapping, Rule
from rules.schema import (
    Comparison,
    ConditionSpec,
    FlappingSpec,
    LabelMatch,
    RuleSpec,
    Selector,
)
from rules.source import Document, Loc
from rules.templates import Template, parse_template
from weibao.errors import Problem

INVENTORY_SAMPLES = frozenset({"warranty_end_timestamp", "contract_end_timestamp"})


class Compiler:
    """Compiles the rules of one file, collecting problems instead of stopping at the first."""

    def __init__(self, doc: Document, default_flapping: FlappingSpec) -> None:
        self.doc = doc
        self.default_flapping = default_flapping
        self.problems: list[Problem] = []

    def rule(self, spec: RuleSpec, loc: Loc) -> Rule | None:
        before = len(self.problems)
        unit = self._sample_unit(spec, loc)
        no_data = self._no_data(spec, loc)
        uses_prev: list[bool] = []
        condition = self.condition(spec.condition, (*loc, "condition"), unit, uses_prev)
        clear = (
            None
            if spec.clear is None
            else self.condition(spec.clear, (*loc, "clear"), unit, uses_prev)
        )
        cases = tuple(
            (self.condition(case.when, (*loc, "levels", i, "when"), unit, uses_prev), case.level)
            for i, case in enumerate(spec.levels)
        )
        where = tuple(self._labels(spec.where or {}, (*loc, "where")))
        title = self._template(spec.title, (*loc, "title"))
        description = self._template(spec.description, (*loc, "description"))
        self._check_fingerprint(spec, loc)
        if len(self.problems) > before or title is None or description is None:
            return None
        flap = spec.flapping or self.default_flapping
        return Rule(
            id=spec.id,
            summary=spec.summary,
            sample=spec.sample,
            selector=self.selector(spec.match),
            where=where,
            condition=condition,
            clear=clear,
            for_seconds=spec.for_.total_seconds(),
            keep_firing_for=spec.keep_firing_for.total_seconds(),
            level=spec.level,
            cases=cases,
            fingerprint=tuple(spec.fingerprint),
            labels=dict(spec.labels),
            title=title,
            description=description,
            knowledge=spec.knowledge.strip(),
            topology=spec.topology,
            maintenance=spec.maintenance,
            collapse=spec.collapse,
            flapping=Flapping(flap.transitions, flap.window.total_seconds())
            if flap.enabled
            else None,
            no_data=no_data,
            needs_prev=any(uses_prev),
            fault=spec.fault or "",
            file=self.doc.file,
            line=self.doc.line(loc),
        )

    # -- conditions ----------------------------------------------------------------------

    def condition(
        self, spec: ConditionSpec, loc: Loc, unit: str | None, uses_prev: list[bool]
    ) -> Predicate:
        parts: list[Predicate] = []
        for key, comparison in (
            ("value", spec.value),
            ("change", spec.change),
            ("rate", spec.rate),
            ("until", spec.until),
        ):
            if comparison is not None:
                parts.append(self._numbers(key, comparison, (*loc, key), unit))
                uses_prev.append(key in ("change", "rate"))
        parts.extend(self._labels(spec.labels or {}, (*loc, "labels")))
        if spec.device is not None:
            parts.append(self.selector(spec.device))
        if spec.join is not None:
            join = spec.join
            other = units.unit_of(join.sample)
            value = None
            if join.value is not None:
                value = self._numbers("value", join.value, (*loc, "join", "value"), other)
            texts = tuple(self._labels(join.labels or {}, (*loc, "join", "labels")))
            parts.append(JoinTest(join.sample, tuple(join.by), value, texts, join.missing))
        if spec.no_data is not None:
            parts.append(NoData(spec.no_data.total_seconds()))
        for key, items, combine in (
            ("all", spec.all_, AllOf),
            ("any", spec.any_, AnyOf),
        ):
            if items is not None:
                subs = [
                    self.condition(item, (*loc, key, i), unit, uses_prev)
                    for i, item in enumerate(items)
                ]
                parts.append(combine(tuple(subs)))
        if spec.not_ is not None:
            parts.append(Not(self.condition(spec.not_, (*loc, "not"), unit, uses_prev)))
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _numbers(self, operand: str, spec: Comparison, loc: Loc, unit: str | None) -> NumberTest:
        parse: Callable[[Any], float] = {
            "value": lambda raw: units.parse_quantity(raw, unit),
            "change": lambda raw: units.parse_quantity(raw, unit, delta=True),
            "rate": lambda raw: units.parse_rate(raw, unit),
            "until": units.parse_seconds,
        }[operand]
        tests: list[tuple[str, float]] = []
        members: frozenset[float] | None = None
        excluded: frozenset[float] | None = None
        for op, raw in spec.tests():
            try:
                if op in ("in", "not_in"):
                    values = frozenset(parse(item) for item in raw)
                    if op == "in":
                        members = values
                    else:
                        excluded = values
                else:
                    tests.append((op, parse(raw)))
            except ValueError as exc:
                self._problem((*loc, op), str(exc), f"the sample's unit is {unit or 'unknown'}")
        if unit == "state" and operand == "value":
            self._problem(loc, "a state sample carries its state in a label", units.example(unit))
        return NumberTest(operand, tuple(tests), members, excluded)

    def _labels(self, specs: dict[str, LabelMatch], loc: Loc) -> list[TextTest]:
        return [self._label(name, spec, (*loc, name)) for name, spec in specs.items()]

    def _label(self, name: str, spec: LabelMatch, loc: Loc) -> TextTest:
        return TextTest(
            label=name,
            eq=spec.eq,
            ne=spec.ne,
            members=frozenset(spec.in_) if spec.in_ is not None else None,
            excluded=frozenset(spec.not_in) if spec.not_in is not None else None,
            pattern=self._regex(spec.matches, (*loc, "matches")),
            anti_pattern=self._regex(spec.not_matches, (*loc, "not_matches")),
            present=spec.present,
        )

    def _regex(self, text: str | None, loc: Loc) -> re.Pattern[str] | None:
        if text is None:
            return None
        try:
            return re.compile(text)
        except re.error as exc:
            self._problem(loc, f"not a regular expression: {exc}", "quote it in single quotes")
            return None

    @staticmethod
    def selector(spec: Selector) -> DeviceTest:
        def fold(values: list[Any] | None) -> frozenset[str] | None:
            return None if values is None else frozenset(str(v).casefold() for v in values)

        return DeviceTest(
            kind=fold(spec.kind),
            vendor=fold(spec.vendor),
            model=fold(spec.model),
            role=fold(spec.role),
            criticality=fold(spec.criticality),
            tags=fold(spec.tags),
            source=fold(spec.source),
            name=fold(spec.name),
        )

    # -- the rest of the rule ------------------------------------------------------------

    def _sample_unit(self, spec: RuleSpec, loc: Loc) -> str | None:
        sources = spec.match.source or []
        if INVENTORY_SOURCE in sources and (
            len(sources) > 1 or spec.sample not in INVENTORY_SAMPLES
        ):
            self._problem(
                (*loc, "sample"),
                "rules on source inventory read only the inventory's own samples",
                "use sample: " + " or ".join(sorted(INVENTORY_SAMPLES)),
            )
        if spec.sample is None:
            if spec.condition.no_data is None:
                self._problem(loc, "a rule needs sample: (only a no_data rule may omit it)")
            return None
        unit = units.unit_of(spec.sample)
        if unit is None:
            near = difflib.get_close_matches(spec.sample, units.known_samples(), n=1, cutoff=0.8)
            if near:
                self._problem(
                    (*loc, "sample"),
                    f"sample {spec.sample!r} is not in the vocabulary",
                    f"did you mean {near[0]!r}? (docs/observations.md)",
                    severity="warning",
                )
        return unit

    def _no_data(self, spec: RuleSpec, loc: Loc) -> float | None:
        """``no_data`` stands alone at the top of a condition; elsewhere it means nothing."""
        top = spec.condition
        if top.no_data is not None and top.model_fields_set != {"no_data"}:
            self._problem((*loc, "condition"), "no_data cannot be combined with other tests")
        nested = [c for c in _nested(spec) if c.no_data is not None]
        if nested:
            self._problem(
                (*loc, "condition"),
                "no_data belongs at the top of condition, not in all/any/not, clear or levels",
            )
        if spec.collapse != "none" and top.no_data is None and set(spec.fingerprint) - {"source"}:
            self._problem(
                (*loc, "collapse"),
                "collapse needs a no_data rule or a fingerprint of at most [source]"
                " (one series per device and source)",
            )
        if top.no_data is not None and spec.sample is not None:
            self._problem(
                (*loc, "sample"), "a no_data rule watches whole observations: drop sample"
            )
        return top.no_data.total_seconds() if top.no_data is not None else None

    def _check_fingerprint(self, spec: RuleSpec, loc: Loc) -> None:
        known = units.labels_of(spec.sample) if spec.sample else None
        for i, label in enumerate(spec.fingerprint):
            if known is not None and label not in known:
                self._problem(
                    (*loc, "fingerprint", i),
                    f"{spec.sample} has no label {label!r}",
                    f"its labels are: {', '.join(known) or 'none'}",
                    severity="warning",
                )

    def _template(self, text: str, loc: Loc) -> Template | None:
        try:
            return parse_template(text)
        except ValueError as exc:
            self._problem(loc, str(exc), "see the template fields in docs/rules.md")
            return None

    def _problem(self, loc: Loc, message: str, hint: str = "", severity: str = "error") -> None:
        self.problems.append(self.doc.problem(loc, message, hint or "see docs/rules.md", severity))


def _nested(spec: RuleSpec) -> list[ConditionSpec]:
    """Every condition of the rule except the top of ``condition`` itself."""
    out: list[ConditionSpec] = []

    def walk(cond: ConditionSpec, top: bool) -> None:
        if not top:
            out.append(cond)
        for sub in [*(cond.all_ or []), *(cond.any_ or [])]:
            walk(sub, False)
        if cond.not_ is not None:
            walk(cond.not_, False)

    walk(spec.condition, True)
    for extra in [spec.clear, *(case.when for case in spec.levels)]:
        if extra is not None:
            walk(extra, False)
    return out
