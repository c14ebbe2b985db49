"""Load profile files: every problem located as ``FILE:LINE: path: message``.

All files are read and checked before any error is raised, so one run reports every
mistake; later directories override earlier ones by profile name (a user's directory
can replace a built-in profile). ``extends`` is resolved here, and two profiles that
claim the same sysObjectID prefix (with the same sysDescr regex and tables) are refused:
one device, one profile.
"""

from __future__ import annotations

from pathlib import Path

from collector.snmp.oid import Oid, format_oid
from collector.snmp.profiles import BUILTIN_DIR, Profile, ProfileSet, inherit
from weibao.errors import ConfigError, Problem
from weibao.yamldoc import Document, load_model_file

DOCS = "see docs/collector.md (SNMP profiles)"


def check_profiles(
    dirs: list[Path] | None = None, builtin: bool = True
) -> tuple[ProfileSet | None, list[Problem]]:
    """Every problem in the profile files; the ProfileSet when there is no error.

    Later directories override earlier ones by profile name, so a user's directory can
    replace a built-in profile.
    """
    paths = [BUILTIN_DIR] if builtin else []
    paths += dirs or []
    problems: list[Problem] = []
    raw: dict[str, tuple[Profile, Document]] = {}
    for directory in paths:
        seen_here: dict[str, str] = {}
        for path in sorted(directory.glob("*.yaml")):
            profile, doc, found = _load_file(path)
            problems += found
            if profile is None or doc is None:
                continue
            if profile.name in seen_here:
                problems.append(
                    doc.problem(
                        ("name",),
                        f"profile {profile.name!r} is also defined in {seen_here[profile.name]}",
                        "give each profile its own name",
                    )
                )
                continue
            seen_here[profile.name] = str(path)
            raw[profile.name] = (profile, doc)
    resolved = _resolve(raw, problems)
    problems += _ambiguities(resolved, {n: d for n, (_, d) in raw.items()})
    if any(p.severity == "error" for p in problems):
        return None, problems
    return ProfileSet(resolved), problems


def load_profiles(dirs: list[Path] | None = None, builtin: bool = True) -> ProfileSet:
    profiles, problems = check_profiles(dirs, builtin)
    if profiles is None:
        raise ConfigError(problems)
    return profiles


def _load_file(path: Path) -> tuple[Profile | None, Document | None, list[Problem]]:
    shape = "a profile is a mapping of keys (name:, match:, metrics:, ...)"
    return load_model_file(path, Profile, shape, DOCS)


def _resolve(
    raw: dict[str, tuple[Profile, Document]], problems: list[Problem]
) -> dict[str, Profile]:
    resolved: dict[str, Profile] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Profile | None:
        if name in resolved:
            return resolved[name]
        profile, doc = raw[name]
        if profile.extends is None:
            resolved[name] = profile
            return profile
        if profile.extends not in raw:
            known = ", ".join(sorted(raw))
            msg = f"extends {profile.extends!r}, which is not a profile"
            problems.append(doc.problem(("extends",), msg, f"known profiles: {known}"))
            return None
        if profile.extends in chain:
            loop = " -> ".join((*chain, profile.extends))
            problems.append(doc.problem(("extends",), f"profiles extend each other: {loop}", DOCS))
            return None
        parent = resolve(profile.extends, (*chain, profile.extends))
        if parent is None:
            return None
        resolved[name] = inherit(parent, profile)
        return resolved[name]

    for name in raw:
        resolve(name, (name,))
    return resolved


def _ambiguities(profiles: dict[str, Profile], docs: dict[str, Document]) -> list[Problem]:
    """Two profiles with the same conditions (prefix, sysDescr regex, tables answered)."""
    owners: dict[tuple[Oid, str, tuple[Oid, ...]], str] = {}
    problems = []
    hint = "one device, one profile: remove one, or tell them apart with sys_descr or answers"
    for name, profile in sorted(profiles.items()):
        rule = profile.match
        descr = rule.sys_descr.pattern if rule.sys_descr else ""
        tables = tuple(sorted(rule.answers))
        for position, prefix in enumerate(rule.sys_object_id):
            other = owners.setdefault((prefix, descr, tables), name)
            if other != name:
                msg = f"{format_oid(prefix)} is also matched by profile {other!r}"
                problems.append(docs[name].problem(("match", "sys_object_id", position), msg, hint))
        if not rule.sys_object_id and (tables or descr):
            other = owners.setdefault(((), descr, tables), name)
            if other != name:
                msg = f"profile {other!r} matches the same tables"
                problems.append(docs[name].problem(("match", "answers"), msg, hint))
    return problems
