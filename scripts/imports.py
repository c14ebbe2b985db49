"""What a Python file imports, read from its source (nothing is run): the one reader the
architecture test and the agent's build share.

``import a.b`` is ``("a.b", ())``; ``from a import b, c`` is ``("a", ("b", "c"))``;
relative imports are left out (the project uses none). With ``runtime_only`` the
``if TYPE_CHECKING:`` blocks are left out: names a module imports for mypy only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


def import_statements(
    path: Path, runtime_only: bool = False
) -> Iterator[tuple[str, tuple[str, ...]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = (
        {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for statement in node.body
            for inner in ast.walk(statement)
        }
        if runtime_only
        else set()
    )
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(alias.name for alias in node.names)


def imported_names(path: Path, runtime_only: bool = False) -> set[str]:
    """Every module name the file imports, dotted in full: ``from a.b import c`` gives
    ``a.b`` and ``a.b.c`` (``c`` may be a module or a name in ``a.b``)."""
    found: set[str] = set()
    for module, names in import_statements(path, runtime_only):
        found.add(module)
        found.update(f"{module}.{name}" for name in names)
    return found
