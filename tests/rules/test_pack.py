"""The default pack: it loads, every rule has a test, and every test passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import DEFAULT_PACK, check_rules, load_engine
from rules.testrun import FileResult, RuleTester

PACK_TESTS = sorted((DEFAULT_PACK / "tests").glob("*.yaml"))


@pytest.fixture(scope="module")
def results() -> dict[Path, FileResult]:
    tester = RuleTester()
    return {path: tester.run_file(path) for path in PACK_TESTS}


def test_the_pack_loads_without_problems() -> None:
    assert [p.format() for p in check_rules()] == []


@pytest.mark.parametrize("path", PACK_TESTS, ids=lambda p: p.name)
def test_pack_rule_tests_pass(results: dict[Path, FileResult], path: Path) -> None:
    result = results[path]
    assert [p.format() for p in result.problems] == []
    failures = [f"{c.name}: {line}" for c in result.cases for line in c.failures]
    assert failures == []
    assert result.cases


def test_every_rule_of_the_pack_is_tested(results: dict[Path, FileResult]) -> None:
    tested = set().union(*(r.rules_tested for r in results.values()))
    rules = {rule.id for rule in load_engine().rules}
    assert rules - tested == set()


def test_every_rule_explains_itself() -> None:
    for rule in load_engine().rules:
        assert len(rule.knowledge) >= 40, rule.id
        assert rule.summary and rule.title.parts, rule.id


def test_levels_per_case_as_the_contracts_say() -> None:
    engine = load_engine()
    levels = {rule.id: {lv.value for lv in rule.levels} for rule in engine.rules}
    assert levels["filesystem_full"] == {"II", "III"}
    assert levels["device_unreachable"] == {"I", "II", "III"}
    assert levels["interface_down"] == {"II"}  # uplinks; described ports: interface_went_down
    assert levels["interface_went_down"] == {"II", "III"}
    assert levels["warranty_ending"] == levels["contract_ending"] == {"IV"}
    assert levels["end_of_support"] == {"IV"}
