"""YAML files read with the line of every key and list item.

The inventory and the rule files are composed (not just loaded) so that a problem found
later, by pydantic or by a whole-file check, can still be reported as
``FILE:LINE: customers[Acme].contracts[C-1].end: message``. Duplicate keys, which plain
PyYAML silently merges, and keys YAML reads as booleans (``on:``, ``yes:``) are problems
too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from weibao.errors import Problem

Loc = tuple[Any, ...]

_SYNTAX_HINT = (
    "check the indentation (spaces, not tabs) and that every key ends with ':'; "
    "quote values that contain ': ', '#', '{' or start with '*', '&' or '@'"
)


@dataclass
class Document:
    """Plain data from one YAML file, plus the line of every key and list item."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    docs_hint: str = ""

    def line(self, loc: Sequence[Any]) -> int | None:
        """Line of ``loc``, or of its nearest ancestor present in the file."""
        key = tuple(loc)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key)

    def human(self, loc: Sequence[Any]) -> str:
        """``customers[Acme].contracts[C-1].sites[0]``: items by id or name when they have one."""
        out = ""
        node = self.data
        for part in loc:
            if isinstance(node, list) and isinstance(part, int):
                item = node[part] if 0 <= part < len(node) else None
                out += f"[{_label(item, part)}]"
                node = item
            else:
                out += f".{part}" if out else str(part)
                node = node.get(part) if isinstance(node, dict) else None
        return out

    def problem(
        self, loc: Sequence[Any], message: str, hint: str = "", severity: str = "error"
    ) -> Problem:
        """A Problem located at ``loc``; without a hint, the file kind's docs are named."""
        return Problem(
            self.file, self.line(loc), self.human(loc), message, hint or self.docs_hint, severity
        )


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("id", "name"):
            value = item.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return str(index)


def parse_yaml(
    text: str, file: str, docs_hint: str = "", single_document_hint: str = ""
) -> tuple[Document | None, list[Problem]]:
    """Compose ``text`` into a Document; YAML errors become problems at the YAML mark.

    None with problems when the text is not YAML at all; a Document with problems when
    it is, but some keys or values are wrong (duplicates, unreadable dates, ...).
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, file, len(text.splitlines()), single_document_hint)]
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        return None, [Problem(file, None, "", f"not a readable YAML file: {exc}", docs_hint)]
    finally:
        loader.dispose()
    doc = Document(file, None, docs_hint=docs_hint)
    if root is None:
        return doc, []
    doc.lines[()] = root.start_mark.line + 1
    builder = _Builder(loader, doc)
    doc.data = builder.build(root, ())
    # Located only now: a human path names list items, so it needs the finished data.
    return doc, [
        Problem(file, line, doc.human(loc), message, hint or docs_hint)
        for loc, line, message, hint in builder.found
    ]


def _syntax_problem(
    exc: yaml.MarkedYAMLError, file: str, last_line: int, single_document_hint: str
) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    if (
        exc.context_mark
        and exc.problem
        and ("end of stream" in exc.problem or "<stream end>" in exc.problem)
    ):
        # An unclosed quote or bracket is "found" at the end of the file; where it was
        # opened is the line to fix.
        mark = exc.context_mark
    # A mark at the end of the stream lies past the last line: point at a line that exists.
    line = min(mark.line + 1, max(last_line, 1)) if mark else None
    what = "; ".join(p for p in (exc.context, exc.problem) if p)
    hint = _SYNTAX_HINT
    if "'\\t'" in what:
        hint = "indent with spaces: YAML does not allow tabs"
    elif "single document" in what and single_document_hint:
        hint = single_document_hint
    return Problem(file, line, "", f"YAML syntax error: {what or 'invalid YAML'}", hint)


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording lines on the way."""

    def __init__(self, loader: yaml.SafeLoader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.found: list[tuple[Loc, int, str, str]] = []  # loc, line, message, hint
        self.active: set[int] = set()

    def build(self, node: Node, loc: Loc) -> Any:
        if id(node) in self.active:  # `&a [*a]`: an alias inside itself
            self._at(node, loc, "an alias refers to itself", "replace the alias with a copy")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
            if isinstance(node, SequenceNode):
                return self._sequence(node, loc)
            return self._scalar(node, loc)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[Any, Any]:
        # Keys written here, as opposed to those brought in by a `<<: *anchor` merge: only
        # a key written twice is a mistake; overriding a merged key is what merges are for.
        written = {id(key) for key, _ in node.value}
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        seen_written: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._at(key_node, loc, "a key must be a plain value", "write `key: value`")
                continue
            key = self._scalar(key_node, loc)
            if isinstance(key, bool):
                word = key_node.value
                self._at(
                    key_node,
                    loc,
                    f"YAML reads the key {word!r} as {str(key).lower()}",
                    f"quote it: '{word}':",
                )
                key = word
            if id(key_node) in written:
                if key in seen_written:
                    first = self.doc.lines.get((*loc, key))
                    self._at(
                        key_node,
                        (*loc, key),
                        f"key {key!r} appears twice in this mapping (also at line {first})",
                        "YAML would keep only the last one: delete or rename one of them",
                    )
                seen_written.add(key)
            self.doc.lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*loc, key))
        return out

    def _sequence(self, node: SequenceNode, loc: Loc) -> list[Any]:
        out = []
        for index, item in enumerate(node.value):
            self.doc.lines[(*loc, index)] = item.start_mark.line + 1
            out.append(self.build(item, (*loc, index)))
        return out

    def _scalar(self, node: Node, loc: Loc) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. date 2026-13-45
            hint = "fix it (dates are YYYY-MM-DD), or quote it to keep it as text"
            self._at(node, loc, f"cannot read this value: {exc}", hint)
            return None

    def _at(self, node: Node, loc: Loc, message: str, hint: str) -> None:
        self.found.append((loc, node.start_mark.line + 1, message, hint))


M = TypeVar("M", bound=BaseModel)


def load_model_file(
    path: Path, model: type[M], shape: str, docs_hint: str
) -> tuple[M | None, Document | None, list[Problem]]:
    """A YAML data file (a collector profile, a trap catalog...) validated as ``model``:
    the model, the document (for later whole-set checks) and every problem with its line.

    ``shape`` says what the top of such a file is, for a file that is not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, None, [Problem(str(path), None, "", f"cannot read: {exc}", docs_hint)]
    doc, problems = parse_yaml(text, str(path), docs_hint=docs_hint)
    if doc is None:
        return None, None, problems
    if not isinstance(doc.data, dict):
        return None, doc, [*problems, Problem(str(path), 1, "", shape, docs_hint)]
    try:
        return model.model_validate(doc.data), doc, problems
    except ValidationError as exc:
        return None, doc, problems + validation_problems(doc, exc, docs_hint)


def validation_problems(doc: Document, exc: ValidationError, docs_hint: str) -> list[Problem]:
    """pydantic's errors located in the file, in words without pydantic's jargon."""
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p not in ("function-before", "function-after"))
        out.append(doc.problem(_in_file(doc.data, loc), plain_message(err), docs_hint))
    return out


def plain_message(err: Any) -> str:
    """One pydantic error as a user reads it: unknown or missing keys by name."""
    name = str(err["loc"][-1]) if err["loc"] else "file"
    if err["type"] == "extra_forbidden":
        return f"unknown key '{name}'"
    if err["type"] == "missing":
        return f"required key '{name}' is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def _in_file(data: Any, loc: Loc) -> Loc:
    """Drop the parts of pydantic's location that are not in the file (union members,
    validator tags), keeping a last missing key so the problem can name it."""
    out: list[Any] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif part != loc[-1] or not isinstance(node, dict):
            continue
        out.append(part)
    return tuple(out)
