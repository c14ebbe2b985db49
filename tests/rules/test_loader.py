"""Rule files are checked at load: every problem, in every file, at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import load_engine
from rules.loader import read_rules
from tests.rules.conftest import make_inventory, write_rules
from weibao.errors import ConfigError, Problem

GOOD = """\
rules:
  - id: disk_full
    summary: A filesystem is nearly full
    sample: filesystem_usage_ratio
    condition: {value: {gte: 90%}}
    for: 5m
    level: III
    fingerprint: [mountpoint]
    title: "{device}: {labels.mountpoint} at {value|pct}"
    knowledge: Look for large log files first, then old backups.
"""


def problems_of(rules_dir: Path, text: str, name: str = "a.yaml") -> list[Problem]:
    write_rules(rules_dir, {name: text})
    return [p for p in read_rules(rules_dir)[1] if p.severity == "error"]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


def test_a_good_file_loads(rules_dir: Path) -> None:
    write_rules(rules_dir, {"a.yaml": GOOD})
    engine = load_engine(rules_dir)
    assert [r.id for r in engine.rules] == ["disk_full"]


def test_yaml_syntax_error_has_its_line(rules_dir: Path) -> None:
    problem = only(problems_of(rules_dir, GOOD.replace("    level: III", "    level: [III")))
    assert problem.line is not None and problem.line >= 7
    assert "YAML" in problem.message


def test_unknown_key_suggests_the_right_one(rules_dir: Path) -> None:
    problems = problems_of(rules_dir, GOOD.replace("    condition:", "    conditon:"))
    assert {p.message for p in problems} == {
        "unknown key 'conditon'",
        "required key 'condition' is missing",
    }
    problem = next(p for p in problems if "unknown" in p.message)
    assert problem.line == 5
    assert problem.path == "rules[disk_full].conditon"
    assert "did you mean 'condition'" in problem.hint


def test_bad_operator_is_an_unknown_key_with_a_suggestion(rules_dir: Path) -> None:
    problem = only(problems_of(rules_dir, GOOD.replace("{gte: 90%}", "{ge: 90%}")))
    assert problem.path == "rules[disk_full].condition.value.ge"
    assert "did you mean 'gte'" in problem.hint


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("{gte: 90%}", "{gte: 90}", "outside 0..1"),
        ("{gte: 90%}", "{gte: 10m}", "'m' is not the unit of a ratio sample"),
        ("{gte: 90%}", "{gte: lots}", "not a number"),
        ("sample: filesystem_usage_ratio", "sample: uptime_seconds", "'%' is not"),
    ],
)
def test_units_must_fit_the_sample(rules_dir: Path, old: str, new: str, words: str) -> None:
    problem = only(problems_of(rules_dir, GOOD.replace(old, new)))
    assert words in problem.message
    assert problem.line == 5
    assert problem.path.startswith("rules[disk_full].condition.value.gte")


def test_unknown_level(rules_dir: Path) -> None:
    problem = only(problems_of(rules_dir, GOOD.replace("level: III", "level: V")))
    assert "unknown fault level" in problem.message
    assert problem.line == 7


def test_duplicate_rule_ids_across_files(rules_dir: Path) -> None:
    write_rules(rules_dir, {"a.yaml": GOOD, "b.yaml": GOOD})
    problem = only([p for p in read_rules(rules_dir)[1] if p.severity == "error"])
    assert problem.file.endswith("b.yaml") and problem.line == 2
    assert "already used at" in problem.message and "a.yaml:2" in problem.message


def test_every_problem_of_every_file_at_once(rules_dir: Path) -> None:
    write_rules(
        rules_dir,
        {
            "a.yaml": GOOD.replace("level: III", "level: 7").replace("for: 5m", "for: soon"),
            "b.yaml": GOOD.replace("disk_full", "disk_full_b").replace("    title:", "    titel:"),
            "c.yaml": "rules: [\n",
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_engine(rules_dir)
    found = {(Path(p.file).name, p.path) for p in caught.value.problems}
    assert ("a.yaml", "rules[disk_full].level") in found
    assert ("a.yaml", "rules[disk_full].for") in found
    assert ("b.yaml", "rules[disk_full_b].titel") in found
    assert ("b.yaml", "rules[disk_full_b].title") in found  # now missing
    assert any(name == "c.yaml" for name, _ in found)
    assert "a.yaml:7: rules[disk_full].level:" in str(caught.value)


def test_bad_regex_and_template_field(rules_dir: Path) -> None:
    text = GOOD.replace(
        "    for: 5m", "    where: {mountpoint: {matches: '(unclosed'}}\n    for: 5m"
    ).replace("{value|pct}", "{value|percent} {hostname}")
    problems = problems_of(rules_dir, text)
    messages = " | ".join(p.message for p in problems)
    assert "not a regular expression" in messages
    assert "unknown filter |percent" in messages


def test_unknown_template_field(rules_dir: Path) -> None:
    problem = only(problems_of(rules_dir, GOOD.replace("{device}", "{hostname}")))
    assert "unknown field {hostname}" in problem.message
    assert problem.path == "rules[disk_full].title"


def test_an_unquoted_on_key_is_explained(rules_dir: Path) -> None:
    text = GOOD.replace(
        "    for: 5m",
        "    clear: {join: {sample: swap_usage_ratio, on: [x], value: 0}}\n    for: 5m",
    )
    problems = problems_of(rules_dir, text)
    assert any("reads the key 'on' as true" in p.message for p in problems)


def test_no_data_stands_alone(rules_dir: Path) -> None:
    text = GOOD.replace("condition: {value: {gte: 90%}}", "condition: {no_data: 5m, value: 1}")
    messages = [p.message for p in problems_of(rules_dir, text)]
    assert any("no_data cannot be combined" in m for m in messages)
    assert any("drop sample" in m for m in messages)


def test_collapse_needs_one_series_per_device_and_source(rules_dir: Path) -> None:
    text = GOOD.replace("    for: 5m", "    collapse: site\n    for: 5m")
    problem = only(problems_of(rules_dir, text))  # one per mountpoint: no site collapse
    assert problem.path == "rules[disk_full].collapse"
    assert "at most [source]" in problem.message
    by_source = text.replace("fingerprint: [mountpoint]", "fingerprint: [source]")
    assert problems_of(rules_dir, by_source.replace("{labels.mountpoint}", "x")) == []


def test_a_state_sample_is_matched_by_label_not_value(rules_dir: Path) -> None:
    text = GOOD.replace("sample: filesystem_usage_ratio", "sample: raid_state").replace(
        "{gte: 90%}", "{eq: 1}"
    )
    assert "state in a label" in only(problems_of(rules_dir, text)).message


def test_a_near_miss_sample_name_is_a_warning(rules_dir: Path) -> None:
    text = GOOD.replace("usage_ratio", "usage_ration").replace("90%", "0.9")
    write_rules(rules_dir, {"a.yaml": text})
    ruleset, problems = read_rules(rules_dir)
    assert ruleset is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "filesystem_usage_ratio" in problems[0].hint


def test_selectors_no_device_matches_are_warnings(rules_dir: Path) -> None:
    text = GOOD.replace("    for: 5m", "    match: {vendor: Huawai}\n    for: 5m")
    write_rules(rules_dir, {"a.yaml": text})
    inventory = make_inventory([{"name": "s1", "kind": "server", "vendor": "Huawei"}])
    ruleset, problems = read_rules(rules_dir, inventory)
    assert ruleset is not None
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert "huawai" in problems[0].message


def test_unknown_kind_suggests(rules_dir: Path) -> None:
    text = GOOD.replace("    for: 5m", "    match: {kind: swich}\n    for: 5m")
    problem = only(problems_of(rules_dir, text))
    assert "did you mean 'switch'" in problem.hint


def test_empty_directory(rules_dir: Path) -> None:
    rules_dir.mkdir()
    assert "no rule files" in only(problems_of_dir(rules_dir)).message


def problems_of_dir(rules_dir: Path) -> list[Problem]:
    return read_rules(rules_dir)[1]


def test_only_one_file_may_carry_settings(rules_dir: Path) -> None:
    settings = "settings: {flapping: {transitions: 3, window: 10m}}\n"
    write_rules(rules_dir, {"a.yaml": settings, "b.yaml": settings})
    assert "already given" in only(problems_of_dir(rules_dir)).message


FAULTS = """\
rules:
  - id: port_down
    summary: A polled port is down
    sample: interface_up
    condition: {value: 0}
    level: II
    fingerprint: [interface]
    title: "{device}: {labels.interface} down"
    knowledge: Check the cable and the far end.
  - id: port_trap
    summary: A linkDown trap
    sample: trap_link_up
    condition: {value: 0}
    level: III
    fingerprint: FP
    fault: FAULT
    title: "{device}: {labels.interface} down (trap)"
    knowledge: Check the cable and the far end.
"""


@pytest.mark.parametrize(
    ("fault", "fp", "words"),
    [
        ("port_dwn", "[interface]", "no other rule 'port_dwn'"),
        ("port_trap", "[interface]", "no other rule 'port_trap'"),
        ("port_down", "[]", "fingerprint [] differs from port_down's [interface]"),
    ],
)
def test_a_fault_names_another_rule_told_apart_by_the_same_labels(
    rules_dir: Path, fault: str, fp: str, words: str
) -> None:
    text = FAULTS.replace("FAULT", fault).replace("FP", fp)
    problem = only(problems_of(rules_dir, text))
    assert words in problem.message and problem.path == "rules[port_trap].fault"
    assert problem.line is not None


def test_a_good_fault_loads(rules_dir: Path) -> None:
    write_rules(
        rules_dir, {"a.yaml": FAULTS.replace("FAULT", "port_down").replace("FP", "[interface]")}
    )
    ruleset, problems = read_rules(rules_dir)
    assert ruleset is not None and [p for p in problems if p.severity == "error"] == []
    trap = next(r for r in ruleset.rules if r.id == "port_trap")
    assert trap.fault_id == "port_down"
