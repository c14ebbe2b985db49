"""Run rule test files: feed each test's series to the engine and compare the alarms.

The engine runs as the desk runs it: one evaluation per step (and at each expected
time), the state passed through JSON between evaluations, and the alarms kept as the
desk would see them (firing or suppressed until cleared). An expectation lists the
alarms active at its time; the comparison is exact (every expected alarm present,
nothing else firing), restricted to the test's ``only:`` rules when it has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rules.api import EngineState
from rules.engine import RuleEngine
from rules.loader import DEFAULT_PACK, load_rules, problem_from_error
from rules.source import Document, read_yaml
from rules.testfile import (
    TEST_KEYS,
    ExpectedAlarm,
    RuleTestCase,
    RuleTestFile,
    observations_at,
    offset_or_time,
)
from weibao.durations import format_duration
from weibao.errors import ConfigError, Problem
from weibao.inventory.model import Inventory
from weibao.observation import Alarm


@dataclass
class CaseResult:
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class FileResult:
    file: str
    cases: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rules_tested: set[str] = field(default_factory=set)

    @property
    def invalid(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    @property
    def ok(self) -> bool:
        return not self.invalid and all(c.ok for c in self.cases)


class RuleTester:
    """Runs test files; rule directories are loaded once and shared between files."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self.rules_dir = rules_dir
        self._engines: dict[Path, RuleEngine] = {}

    def run_file(self, path: Path) -> FileResult:
        result = FileResult(str(path))
        loaded = self._load(path, result)
        if loaded is None:
            return result
        spec, engine, inventory = loaded
        for index, case in enumerate(spec.tests):
            result.cases.append(run_case(engine, inventory, spec, case, index))
            for expectation in case.expect:
                for alarm in [
                    *(expectation.firing or []),
                    *(expectation.suppressed or []),
                    *(expectation.cleared or []),
                ]:
                    result.rules_tested.add(alarm.rule)
        return result

    def _load(
        self, path: Path, result: FileResult
    ) -> tuple[RuleTestFile, RuleEngine, Inventory] | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            result.problems.append(Problem(str(path), None, "", f"cannot read: {exc}"))
            return None
        doc, problems = read_yaml(text, str(path))
        result.problems.extend(problems)
        if doc is None or problems:
            return None
        try:
            spec = RuleTestFile.model_validate(doc.data)
        except ValidationError as exc:
            result.problems.extend(problem_from_error(doc, err, TEST_KEYS) for err in exc.errors())
            return None
        engine = self._engine(path, spec, doc, result)
        inventory = _inventory(path, spec, doc, result)
        if engine is None or inventory is None:
            return None
        known = {rule.id for rule in engine.rules}
        for t, case in enumerate(spec.tests):
            for e, expectation in enumerate(case.expect):
                for key in ("firing", "suppressed", "cleared"):
                    for a, alarm in enumerate(getattr(expectation, key) or []):
                        if alarm.rule not in known:
                            loc = ("tests", t, "expect", e, key, a, "rule")
                            result.problems.append(doc.problem(loc, f"no rule {alarm.rule!r}"))
            for rule_id in case.only or []:
                if rule_id not in known:
                    result.problems.append(
                        doc.problem(("tests", t, "only"), f"no rule {rule_id!r}")
                    )
        return None if result.invalid else (spec, engine, inventory)

    def _engine(
        self, path: Path, spec: RuleTestFile, doc: Document, result: FileResult
    ) -> RuleEngine | None:
        if self.rules_dir is not None:
            rules_dir = self.rules_dir
        elif spec.rules is not None:
            rules_dir = (path.parent / spec.rules).resolve()
        else:
            rules_dir = DEFAULT_PACK
        engine = self._engines.get(rules_dir)
        if engine is None:
            try:
                engine = RuleEngine(load_rules(rules_dir))
            except ConfigError as exc:
                result.problems.extend(exc.problems)
                return None
            self._engines[rules_dir] = engine
        return engine


def _inventory(
    path: Path, spec: RuleTestFile, doc: Document, result: FileResult
) -> Inventory | None:
    data: Any
    where: Document = doc
    if isinstance(spec.inventory, str):
        file = path.parent / spec.inventory
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            result.problems.append(doc.problem(("inventory",), f"cannot read {file}: {exc}"))
            return None
        found, problems = read_yaml(text, str(file))
        result.problems.extend(problems)
        if found is None or problems:
            return None
        where, data = found, found.data
    else:
        data = spec.inventory if spec.inventory is not None else spec.inventory_data()
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problem = problem_from_error(where, {**err, "loc": _test_loc(spec, err["loc"])})
            result.problems.append(problem)
        return None


def _test_loc(spec: RuleTestFile, loc: Sequence[Any]) -> tuple[Any, ...]:
    """An inventory error's place in the test file (the shorthand is rebuilt above)."""
    if spec.inventory is not None:
        return ("inventory", *loc) if isinstance(spec.inventory, dict) else tuple(loc)
    parts = list(loc)
    if "devices" in parts:
        return tuple(parts[parts.index("devices") :])
    if "sites" in parts:
        return ("site", *parts[parts.index("sites") + 2 :])
    return ("contract", *parts[4:])


def run_case(
    engine: RuleEngine,
    inventory: Inventory,
    spec: RuleTestFile,
    case: RuleTestCase,
    index: int,
) -> CaseResult:
    result = CaseResult(case.name)
    start, interval = spec.start, case.interval or spec.interval
    steps = max((len(s.steps()) for s in case.series), default=0)
    expected = sorted(
        ((offset_or_time(e.at, start), e) for e in case.expect), key=lambda pair: pair[0]
    )
    end = max([start + interval * max(steps - 1, 0), *(when for when, _ in expected)])
    timeline = sorted({*_grid(start, end, interval), *(when for when, _ in expected)})
    state = EngineState()
    active: dict[str, tuple[Alarm, str]] = {}
    for when in timeline:
        step = _step_of(when, start, interval)
        obs = observations_at(case, index, step, when) if step is not None else []
        evaluation = engine.evaluate(state, obs, when, inventory)
        state = EngineState.from_json(evaluation.state.to_json())
        for alarm in evaluation.cleared:
            active.pop(alarm.fingerprint, None)
        for alarm in evaluation.firing:
            held = active.get(alarm.fingerprint)
            if (
                held is not None
                and held[1] == "firing"
                and held[0].rule != alarm.rule
                and held[0].level.is_worse_than(alarm.level)
            ):
                # Rules reporting one fault (``fault:``): as on the desk's one ticket, the
                # worst level of the fault's alarms is what stands.
                continue
            active[alarm.fingerprint] = (alarm, "firing")
        for alarm in evaluation.suppressed:
            active[alarm.fingerprint] = (alarm, "suppressed")
        for at, expectation in expected:
            if at != when:
                continue
            got = {
                "firing": [a for a, how in active.values() if how == "firing"],
                "suppressed": [a for a, how in active.values() if how == "suppressed"],
                "cleared": list(evaluation.cleared),
            }
            offset = format_duration(when - start)
            for key, wanted in (
                ("firing", expectation.firing),
                ("suppressed", expectation.suppressed),
                ("cleared", expectation.cleared),
            ):
                if wanted is None:
                    continue
                actual = [a for a in got[key] if case.only is None or a.rule in case.only]
                for line in compare(key, wanted, actual):
                    result.failures.append(f"at {offset} ({when.isoformat()}): {line}")
    return result


def compare(key: str, wanted: Sequence[ExpectedAlarm], actual: Sequence[Alarm]) -> list[str]:
    """Pair expected with actual alarms; what is left over on either side is a failure."""
    unused = sorted(actual, key=lambda a: a.fingerprint)
    lines: list[str] = []
    for expected in wanted:
        match = next((a for a in unused if _matches(expected, a)), None)
        if match is None:
            lines.append(f"missing {key}:    {_describe_expected(expected)}")
        else:
            unused.remove(match)
    lines.extend(f"unexpected {key}: {describe(a)}" for a in unused)
    return lines


def _matches(expected: ExpectedAlarm, alarm: Alarm) -> bool:
    return (
        expected.rule == alarm.rule
        and (expected.device is None or expected.device == alarm.device)
        and (expected.level is None or expected.level == alarm.level)
        and all(alarm.labels.get(k) == v for k, v in expected.labels.items())
        and (expected.title is None or expected.title == alarm.title)
    )


def describe(alarm: Alarm) -> str:
    labels = {k: v for k, v in alarm.labels.items() if k != "category"}
    inner = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return (
        f"{alarm.rule} on {alarm.device} level {alarm.level.value}"
        + (f" {{{inner}}}" if inner else "")
        + f" — {alarm.title!r}"
    )


def _describe_expected(expected: ExpectedAlarm) -> str:
    text = expected.rule
    if expected.device:
        text += f" on {expected.device}"
    if expected.level:
        text += f" level {expected.level.value}"
    if expected.labels:
        text += " {" + ", ".join(f"{k}={v}" for k, v in sorted(expected.labels.items())) + "}"
    if expected.title:
        text += f" — {expected.title!r}"
    return text


def _grid(start: datetime, end: datetime, interval: timedelta) -> list[datetime]:
    count = int((end - start) / interval) if end >= start else -1
    return [start + interval * i for i in range(count + 1)]


def _step_of(when: datetime, start: datetime, interval: timedelta) -> int | None:
    elapsed = when - start
    if elapsed < timedelta(0) or elapsed % interval:
        return None
    return int(elapsed / interval)
