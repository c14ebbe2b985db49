"""Load trap catalog files: every problem located as ``FILE:LINE: path: message``.

All files are read before anything is refused, so one run lists every mistake. Varbind
names and enumerations are shared by all files (a name given two different OIDs is an
error); a trap OID defined again in a later directory replaces the earlier entry, so a
user's file can change what a built-in trap means.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collector.snmp.oid import Oid, format_oid
from collector.traps.catalog import (
    BUILTIN_DIR,
    BUILTIN_VARBINDS,
    EVENT_FAMILIES,
    STATE_NORMAL,
    Catalog,
    Emit,
    EventEmit,
    TrapFile,
    TrapSpec,
    ValueFrom,
    template_fields,
)
from weibao.errors import ConfigError, Problem
from weibao.vocabulary import BY_NAME
from weibao.yamldoc import Document, load_model_file

DOCS = "see docs/collector.md (Traps: the catalog)"


def check_catalog(
    paths: Sequence[Path] = (), builtin: bool = True
) -> tuple[Catalog | None, list[Problem]]:
    """The catalog from the built-in files and ``paths`` (files or directories)."""
    files: list[Path] = sorted(BUILTIN_DIR.glob("*.yaml")) if builtin else []
    for path in paths:
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    problems: list[Problem] = []
    loaded: list[tuple[TrapFile, Document]] = []
    for path in files:
        found, doc, more = _load_file(path)
        problems += more
        if found is not None and doc is not None:
            loaded.append((found, doc))
    varbinds, enums = dict(BUILTIN_VARBINDS), {}
    owner: dict[str, str] = {}
    for found, doc in loaded:
        for name, oid in found.varbinds.items():
            if varbinds.get(name, oid) != oid:
                msg = f"{name} is {format_oid(varbinds[name])} in {owner.get(name, 'weibao')}"
                problems.append(doc.problem(("varbinds", name), msg, "one name, one OID"))
            varbinds.setdefault(name, oid)
            owner.setdefault(name, doc.file)
        enums.update(found.enums)
    traps: dict[Oid, TrapSpec] = {}
    for found, doc in loaded:
        here: set[Oid] = set()
        for position, spec in enumerate(found.traps):
            loc = ("traps", position)
            if spec.oid in here:
                msg = f"{format_oid(spec.oid)} is defined twice in this file"
                problems.append(doc.problem((*loc, "oid"), msg, "keep one entry per OID"))
            here.add(spec.oid)
            problems += _check_trap(spec, doc, loc, varbinds, enums)
            traps[spec.oid] = spec
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Catalog(traps, varbinds, enums), problems


def load_catalog(paths: Sequence[Path] = (), builtin: bool = True) -> Catalog:
    catalog, problems = check_catalog(paths, builtin)
    if catalog is None:
        raise ConfigError(problems)
    return catalog


def _load_file(path: Path) -> tuple[TrapFile | None, Document | None, list[Problem]]:
    shape = "a trap catalog file is a mapping (varbinds:, enums:, traps:)"
    return load_model_file(path, TrapFile, shape, DOCS)


def _check_trap(
    spec: TrapSpec,
    doc: Document,
    loc: tuple[Any, ...],
    varbinds: dict[str, Oid],
    enums: dict[str, dict[str, str]],
) -> list[Problem]:
    problems: list[Problem] = []
    groups: list[tuple[str, Sequence[Emit | EventEmit]]] = [
        ("samples", spec.samples),
        ("state", spec.state),
        ("events", spec.events),
    ]
    for group, emits in groups:
        for index, emit in enumerate(emits):
            where = (*loc, group, index)
            message = _name_problem(group, emit.name)
            if message:
                problems.append(doc.problem((*where, "name"), message, DOCS))
            spec_labels = BY_NAME[emit.name].labels if emit.name in BY_NAME else ()
            for label in spec_labels:
                if label not in emit.labels:
                    msg = f"{emit.name} is identified by label {label!r}: give it a template"
                    problems.append(doc.problem((*where, "labels"), msg, DOCS))
            refs = [
                (("labels", key), field)
                for key, template in emit.labels.items()
                for field in template_fields(template)
            ]
            refs += [(("when", k), (k, None)) for k in emit.when]
            refs += [(("unless", k), (k, None)) for k in emit.unless]
            if isinstance(emit, Emit) and isinstance(emit.value, ValueFrom):
                refs.append((("value", "from"), (emit.value.from_, None)))
            for sub, (var, enum) in refs:
                if var not in varbinds:
                    hint = "name it under varbinds: (NAME: numeric OID)"
                    problems.append(doc.problem((*where, *sub), f"unknown varbind {var!r}", hint))
                if enum is not None and enum not in enums:
                    hint = "declare it under enums:"
                    problems.append(doc.problem((*where, *sub), f"unknown enum {enum!r}", hint))
    return problems


def _name_problem(group: str, name: str) -> str:
    if group == "samples" and (name.startswith("trap_") or name not in BY_NAME):
        return f"{name!r} is not a vocabulary sample (docs/observations.md); trap_* go in state:"
    known = {"state": sorted(STATE_NORMAL), "events": sorted(EVENT_FAMILIES)}.get(group)
    if known is not None and name not in known:
        return f"{name!r} is not a trap {group} sample: use one of {', '.join(known)}"
    return ""
