"""Read ``inventory.yaml`` into an :class:`Inventory`, or say exactly what is wrong and where.

The file is composed (not just loaded) with PyYAML so every key and list item keeps its
line. Validation then runs in two passes that both see the whole file, so one run
reports every problem: the whole-file checks of :mod:`weibao.inventory.checks` on the
raw data, and pydantic on the models. Pydantic's errors are translated here, at the
edge, into :class:`~weibao.errors.Problem` (``FILE:LINE: field.path: message`` and a hint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from weibao import yamldoc
from weibao.errors import ConfigError, Problem
from weibao.inventory import checks
from weibao.inventory.model import WHOLE_FILE_CHECKED, Inventory
from weibao.inventory.values import InvalidValue, did_you_mean
from weibao.yamldoc import Document, Loc

_DOCS = "see docs/inventory.md"


def parse_yaml(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Compose the inventory's text; see :func:`weibao.yamldoc.parse_yaml`."""
    return yamldoc.parse_yaml(
        text,
        file,
        docs_hint=_DOCS,
        single_document_hint=(
            "the inventory is one YAML document: remove the '---' line and merge the parts"
        ),
    )


# -- pydantic errors -> problems ---------------------------------------------------------

_LIST = ("a list", "write one `- item` per line under it, or [a, b] on one line")
_MAPPING = ("a mapping of keys", "write `key: value` lines indented under it")
_TYPES = {
    "string_type": ("text", "quote it, e.g. '0017' or 'true', to keep it as text"),
    "int_type": ("a whole number", "write digits only, e.g. 4"),
    "int_parsing": ("a whole number", "write digits only, e.g. 4"),
    "int_from_float": ("a whole number", "write digits only, e.g. 4"),
    "bool_type": ("true or false", "write true or false"),
    "bool_parsing": ("true or false", "write true or false"),
    "list_type": _LIST,
    "dict_type": _MAPPING,
    "model_type": _MAPPING,
    "model_attributes_type": _MAPPING,
}
# Fields whose wrong type deserves a more specific hint than the type's.
_FIELD_HINTS = {
    "depends_on": "write one device name, or a list of names for a redundant group",
    "customers": "write a list of customers, each starting with `- name: ...`",
}


def problem_from_error(doc: Document, err: ErrorDetails) -> Problem:
    """Translate one pydantic error into a located, plain-sentence Problem."""
    loc = _raw_loc(doc.data, err["loc"])
    message, hint = _describe(err, loc)
    return doc.problem(loc, message, hint)


def _raw_loc(data: Any, loc: Sequence[Any]) -> Loc:
    """Pydantic's ``loc`` as a path in the raw data.

    Drops pydantic's own markers: ``[key]`` on dict-key errors, and the ``levels`` that
    SlaPolicy inserts when the user writes ``sla: {I: ...}`` directly.
    """
    out: list[Any] = []
    node = data
    for part in loc:
        if part == "[key]":
            continue
        if part == "levels" and out and out[-1] == "sla" and not _has(node, part):
            continue
        out.append(part)
        node = _child(node, part)
    return tuple(out)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _child(node: Any, part: Any) -> Any:
    return node[part] if _has(node, part) else None


def _describe(err: ErrorDetails, loc: Loc) -> tuple[str, str]:
    """A plain sentence and a hint; the input is shown only for enums, never for secrets."""
    kind = err["type"]
    name = str(loc[-1]) if loc else "file"
    ctx = err.get("ctx") or {}
    secret = checks.is_secret_field(err["loc"])
    if kind == "value_error" or kind == "assertion_error":
        error = ctx.get("error")
        if isinstance(error, InvalidValue):
            return str(error), error.hint or _DOCS
        return str(error or err["msg"]).removeprefix("Value error, "), _DOCS
    if kind == "missing":
        return f"required key '{name}' is missing", _missing_hint(err["loc"], name)
    if kind == "extra_forbidden":
        return f"unknown key '{name}'", checks.unknown_key_hint(err["loc"])
    if kind in ("enum", "literal_error"):
        return _choice(name, err, secret)
    if kind in _TYPES:
        word, hint = _TYPES[kind]
        if err["input"] is None:  # `devices:` with nothing under it
            return f"{name} has no value", f"write {word} under it, or remove the key"
        return f"{name} must be {word}", _FIELD_HINTS.get(name, hint)
    if kind.startswith("date"):
        return f"{name} is not a date", "write dates as YYYY-MM-DD, e.g. 2026-01-01"
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return (
            f"{name} is not a date and time with a UTC offset",
            "write e.g. 2026-05-01T22:00:00+08:00",
        )
    if kind == "string_too_short":
        return f"{name} must not be empty", _DOCS
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _bound(name, kind, ctx), _DOCS
    text = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    return f"{name}: {text}", _DOCS


def _missing_hint(pyloc: Sequence[Any], name: str) -> str:
    choices = checks.field_choices(pyloc)
    if choices:
        return f"add `{name}:` with one of: {', '.join(choices)}"
    return f"add `{name}:` here ({_DOCS})"


def _choice(name: str, err: ErrorDetails, secret: bool) -> tuple[str, str]:
    choices = checks.field_choices(err["loc"])
    value = err["input"]
    shown = "" if secret or not isinstance(value, str | int | float) else f" {value!r}"
    message = f"{name}{shown} is not one of the allowed values"
    hint = "use one of: " + ", ".join(choices) if choices else _DOCS
    if shown and choices:
        near = did_you_mean(str(value), choices)
        hint = f"{near} ({hint})" if near else hint
    return message, hint


def _bound(name: str, kind: str, ctx: Mapping[str, Any]) -> str:
    words = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    word, key = words[kind]
    return f"{name} must be {word} {ctx.get(key)}"


# -- the public functions ----------------------------------------------------------------


def read_document(path: Path) -> tuple[Document | None, list[Problem]]:
    """Read and compose the file; None with a problem when there is nothing to validate."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = "create it (see docs/inventory.md and the example inventory.yaml) or pass -i PATH"
        return None, [Problem(file, None, "", "file not found", hint)]
    except IsADirectoryError:
        return None, [Problem(file, None, "", "is a directory, not a file", "pass -i FILE")]
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 text (byte {exc.start})"
        return None, [Problem(file, None, "", msg, "save the file as UTF-8")]
    except OSError as exc:
        msg = f"cannot read the file: {exc.strerror}"
        return None, [Problem(file, None, "", msg, "check its permissions")]
    doc, problems = parse_yaml(text, file)
    if doc is None:
        return None, problems
    if doc.data is None:
        hint = "start with `customers:` (see docs/inventory.md and the example inventory.yaml)"
        return None, [*problems, Problem(file, 1, "", "the file is empty", hint)]
    if not isinstance(doc.data, dict):
        found = type(doc.data).__name__
        msg = f"the top level must be a mapping of keys, not a {found}"
        hint = "start with `customers:`; list items belong under it, not at the top level"
        return None, [*problems, Problem(file, doc.line(()), "", msg, hint)]
    return doc, problems


def check_inventory(
    path: Path | str, environ: Mapping[str, str] | None = None
) -> tuple[Inventory | None, list[Problem]]:
    """Every problem in the file (errors and warnings), and the Inventory when there is no error.

    ``environ`` is where ``env:`` secret references are looked up (default: os.environ);
    a missing variable or file is a warning here, because the check may run on another
    machine than the one that inspects.
    """
    doc, problems = read_document(Path(path))
    if doc is None:
        return None, problems
    problems += checks.check_document(doc, os.environ if environ is None else environ)
    inventory: Inventory | None = None
    try:
        inventory = Inventory.model_validate(doc.data, context={WHOLE_FILE_CHECKED: True})
    except ValidationError as exc:
        problems += [problem_from_error(doc, err) for err in exc.errors()]
    problems = _sorted_unique(problems)
    if any(p.severity == "error" for p in problems):
        return None, problems
    if inventory is not None:
        inventory = _absolute_logo(inventory, doc.file)
    return inventory, problems


def _absolute_logo(inventory: Inventory, file: str) -> Inventory:
    """The report cover's logo as an absolute path, so the desk finds it whatever its
    working directory (a relative path is relative to the inventory file)."""
    company = inventory.reports.company
    if company.logo is None:
        return inventory
    logo = str(checks.logo_path(company.logo, file))
    reports = inventory.reports.model_copy(
        update={"company": company.model_copy(update={"logo": logo})}
    )
    return inventory.model_copy(update={"reports": reports})


def load_inventory(path: Path | str) -> Inventory:
    """The Inventory in ``path``; raises ConfigError carrying every problem when any is an error.

    Warnings (a secret that cannot be read on this machine now) do not stop loading:
    the inspection that needs the secret fails on its own, as a result.
    """
    inventory, problems = check_inventory(path)
    if inventory is None:
        raise ConfigError(problems)
    return inventory


def _sorted_unique(problems: list[Problem]) -> list[Problem]:
    """In file order, each once (two passes may notice the same thing)."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: p.line or 0)
