"""YAML rule and rule-test files read with the line of every key and list item.

Rule files are composed (not just loaded) so that a problem found later, by pydantic or
by the compiler, can still be reported as ``FILE:LINE: rules[filesystem_full].for:
message``. Duplicate keys, which plain PyYAML silently merges, are problems too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from weibao.errors import Problem

Loc = tuple[Any, ...]

DOCS_HINT = "see docs/rules.md"


@dataclass
class Document:
    """Plain data from one YAML file plus the line of every key and list item."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Sequence[Any]) -> int | None:
        """The line of ``loc`` or of its nearest ancestor that the file has."""
        key = tuple(loc)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key)

    def human(self, loc: Sequence[Any]) -> str:
        """``rules[filesystem_full].levels[0].when``: list items by id or name."""
        out = ""
        node = self.data
        for part in loc:
            if isinstance(node, list) and isinstance(part, int):
                item = node[part] if 0 <= part < len(node) else None
                out += f"[{_item_label(item, part)}]"
                node = item
            else:
                out += f".{part}" if out else str(part)
                node = node.get(part) if isinstance(node, dict) else None
        return out

    def problem(
        self, loc: Sequence[Any], message: str, hint: str = DOCS_HINT, severity: str = "error"
    ) -> Problem:
        return Problem(self.file, self.line(loc), self.human(loc), message, hint, severity)


def _item_label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("id", "name"):
            value = item.get(key)
            if isinstance(value, str) and value:
                return value
    return str(index)


def read_yaml(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Compose ``text``; a syntax error is a problem at the line where YAML noticed it."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        doc = Document(file, None)
        if root is None:
            return doc, []
        doc.lines[()] = root.start_mark.line + 1
        builder = _Builder(loader, doc)
        doc.data = builder.build(root, ())
        # Located only now: a human path names list items, so it needs the finished data.
        return doc, [
            Problem(file, line, doc.human(loc), message, DOCS_HINT)
            for loc, line, message in builder.found
        ]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        hint = "check the indentation (spaces, not tabs) and quote values containing ': ' or '#'"
        return None, [Problem(file, mark.line + 1 if mark else None, "", f"YAML: {what}", hint)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, "", f"not a readable YAML file: {exc}", DOCS_HINT)]
    finally:
        loader.dispose()


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, noting lines on the way."""

    def __init__(self, loader: yaml.SafeLoader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.found: list[tuple[Loc, int, str]] = []

    def build(self, node: Node, loc: Loc) -> Any:
        if isinstance(node, MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if isinstance(key, bool):
                    word = key_node.value
                    self._at(key_node, loc, f"YAML reads the key {word!r} as {str(key).lower()}")
                    key = word
                elif not isinstance(key, str | int | float):
                    self._at(key_node, loc, "a key must be a plain value")
                    continue
                here = (*loc, key)
                if key in out:
                    self._at(key_node, here, f"key {key!r} appears twice in this mapping")
                self.doc.lines[here] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, here)
            return out
        if isinstance(node, SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.doc.lines[(*loc, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*loc, index)))
            return items
        assert isinstance(node, ScalarNode)
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            self._at(node, loc, f"cannot read this value: {exc}")
            return None

    def _at(self, node: Node, loc: Loc, message: str) -> None:
        self.found.append((loc, node.start_mark.line + 1, message))
