"""YAML rule and rule-test files read with the line of every key and list item.

Rule files are composed (not just loaded) so that a problem found later, by pydantic or
by the compiler, can still be reported as ``FILE:LINE: rules[filesystem_full].for:
message``. Duplicate keys, which plain PyYAML silently merges, are problems too.
"""

from __future__ import annotations

from weibao.errors import Problem
from weibao.yamldoc import Document, Loc, parse_yaml

DOCS_HINT = "see docs/rules.md"

__all__ = ["DOCS_HINT", "Document", "Loc", "read_yaml"]


def read_yaml(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Compose a rule or rule-test file; problems name docs/rules.md when nothing better."""
    return parse_yaml(text, file, docs_hint=DOCS_HINT)
