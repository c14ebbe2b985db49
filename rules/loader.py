"""Read a rules directory into a :class:`~rules.model.RuleSet`, or say what is wrong, where.

Every ``*.yaml`` file directly in the directory is a rule file (``tests/`` beside them
holds rule tests, not rules). All files are read and checked before anything is
refused, so one run lists every problem: YAML syntax, unknown keys (with a suggestion),
wrong types, unknown levels, bad units and operators, duplicate rule ids.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from rules.compiler import Compiler
from rules.model import Flapping, Rule, RuleSet
from rules.schema import ALL_KEYS, FlappingSpec, RuleFile
from rules.source import DOCS_HINT, Document, read_yaml
from weibao.errors import ConfigError, Problem
from weibao.inventory.model import Inventory

DEFAULT_PACK = Path(__file__).parent / "pack"


def _rule_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    return sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))


def read_rules(
    path: Path, inventory: Inventory | None = None
) -> tuple[RuleSet | None, list[Problem]]:
    """All rule files under ``path`` (a directory or one file): the rule set and problems.

    The rule set is None when any problem is an error; warnings come with a rule set.
    """
    files = _rule_files(path)
    if not files and (path / "pack").is_dir():
        # `-r rules/` names the package that holds the default pack: read the pack.
        path = path / "pack"
        files = _rule_files(path)
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(str(path), None, "", "no rule files (*.yaml) here", DOCS_HINT))
    parsed: list[tuple[Document, RuleFile]] = []
    for file in files:
        doc, found = _read_file(file)
        problems.extend(found)
        if doc is not None:
            spec = _validate(doc, problems)
            if spec is not None:
                parsed.append((doc, spec))
    default_flapping = _settings(parsed, problems)
    rules: list[Rule] = []
    first_seen: dict[str, tuple[str, int | None]] = {}
    for doc, spec in parsed:
        compiler = Compiler(doc, default_flapping)
        for index, rule_spec in enumerate(spec.rules):
            loc = ("rules", index)
            earlier = first_seen.get(rule_spec.id)
            if earlier is not None:
                where = f"{earlier[0]}:{earlier[1]}" if earlier[1] else earlier[0]
                problems.append(
                    doc.problem(
                        (*loc, "id"),
                        f"rule id {rule_spec.id!r} is already used at {where}",
                        "rule ids are unique across all files: rename one of them",
                    )
                )
                continue
            first_seen[rule_spec.id] = (doc.file, doc.line(loc))
            rule = compiler.rule(rule_spec, loc)
            if rule is not None:
                rules.append(rule)
        problems.extend(compiler.problems)
    problems.extend(_fault_problems(rules))
    if inventory is not None:
        problems.extend(_against_inventory(rules, inventory))
    if any(p.severity == "error" for p in problems):
        return None, problems
    flapping = Flapping(default_flapping.transitions, default_flapping.window.total_seconds())
    return RuleSet.build(rules, flapping if default_flapping.enabled else None), problems


def load_rules(path: Path, inventory: Inventory | None = None) -> RuleSet:
    """Like :func:`read_rules`, but raise :class:`ConfigError` on any error."""
    ruleset, problems = read_rules(path, inventory)
    if ruleset is None:
        raise ConfigError(problems)
    return ruleset


def _read_file(file: Path) -> tuple[Document | None, list[Problem]]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(file), None, "", f"cannot read the file: {exc}", DOCS_HINT)]
    return read_yaml(text, str(file))


def _validate(doc: Document, problems: list[Problem]) -> RuleFile | None:
    if doc.data is None:
        return RuleFile()
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "a rule file is a mapping with a `rules:` list"))
        return None
    try:
        return RuleFile.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(problem_from_error(doc, err) for err in exc.errors())
        return None


def _settings(parsed: list[tuple[Document, RuleFile]], problems: list[Problem]) -> FlappingSpec:
    with_settings = [(doc, spec) for doc, spec in parsed if spec.settings is not None]
    for doc, _ in with_settings[1:]:
        first = with_settings[0][0].file
        problems.append(doc.problem(("settings",), f"settings: is already given in {first}"))
    if with_settings and with_settings[0][1].settings is not None:
        return with_settings[0][1].settings.flapping
    return FlappingSpec()


def problem_from_error(
    doc: Document, err: ErrorDetails, keys: Collection[str] = ALL_KEYS
) -> Problem:
    """One pydantic error as a located sentence with a hint; ``keys`` for "did you mean"."""
    loc = tuple(part for part in err["loc"] if part != "[key]")
    name = str(loc[-1]) if loc else "file"
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind == "extra_forbidden":
        near = difflib.get_close_matches(name, sorted(keys), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}?" if near else DOCS_HINT
        return doc.problem(loc, f"unknown key {name!r}", hint)
    if kind == "missing":
        return doc.problem(loc, f"required key {name!r} is missing", f"add `{name}:` here")
    if kind == "value_error":
        text = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
        return doc.problem(loc, text)
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", ""))
        choices = [c.strip(" '\"") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        near = difflib.get_close_matches(str(err["input"]), choices, n=1, cutoff=0.5)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return doc.problem(
            loc, f"{name} {err['input']!r} is not allowed", f"{hint}use one of: {expected}"
        )
    if kind == "string_pattern_mismatch" and name == "id":
        return doc.problem(loc, f"rule id {err['input']!r} is not a lower_snake_case name")
    text = err["msg"].replace("Input should be", "must be")
    return doc.problem(loc, f"{name}: {text}")


def _fault_problems(rules: Sequence[Rule]) -> list[Problem]:
    """``fault:`` names another rule, that one reports its own fault, and both tell their
    faults apart by the same labels, or their alarms could not share a fingerprint."""
    by_id = {rule.id: rule for rule in rules}
    out: list[Problem] = []
    for rule in rules:
        if not rule.fault:
            continue
        where = f"rules[{rule.id}].fault"
        target = by_id.get(rule.fault)
        if target is None or target is rule:
            near = difflib.get_close_matches(rule.fault, list(by_id), n=1)
            hint = f"did you mean {near[0]!r}?" if near else "name the id of another rule"
            out.append(Problem(rule.file, rule.line, where, f"no other rule {rule.fault!r}", hint))
        elif target.fault:
            out.append(
                Problem(
                    rule.file,
                    rule.line,
                    where,
                    f"{rule.fault!r} itself reports fault {target.fault!r}",
                    f"write fault: {target.fault}",
                )
            )
        elif sorted(target.fingerprint) != sorted(rule.fingerprint):
            out.append(
                Problem(
                    rule.file,
                    rule.line,
                    where,
                    f"fingerprint [{', '.join(rule.fingerprint)}] differs from {target.id}'s "
                    f"[{', '.join(target.fingerprint)}]",
                    "rules reporting one fault tell its instances apart by the same labels",
                )
            )
    return out


def _against_inventory(rules: Sequence[Rule], inventory: Inventory) -> list[Problem]:
    """Warn about selectors that can match no device of this inventory (likely typos)."""
    contexts = inventory.contexts()
    seen: dict[str, set[str]] = {"vendor": set(), "role": set(), "tags": set(), "model": set()}
    for ctx in contexts:
        device = ctx.device
        for key, value in (
            ("vendor", device.vendor),
            ("role", device.role),
            ("model", device.model),
        ):
            if value:
                seen[key].add(value.casefold())
        seen["tags"].update(t.casefold() for t in device.tags)
    out: list[Problem] = []
    for rule in rules:
        for key in seen:
            wanted: frozenset[str] | None = getattr(rule.selector, key)
            if wanted and contexts and not wanted & seen[key]:
                out.append(
                    Problem(
                        rule.file,
                        rule.line,
                        f"rules[{rule.id}].match.{key}",
                        f"no device in the inventory has {key} {', '.join(sorted(wanted))}",
                        "the rule will never fire here; check the spelling",
                        "warning",
                    )
                )
    return out
