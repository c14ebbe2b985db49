"""The device graph's rules on a built inventory: unique names, ``depends_on`` targets that
exist, no cycles; contract ids unique.

Apart from :mod:`weibao.inventory.checks` (which reads the raw YAML with line numbers and
needs the schema's classes) so the schema itself can run these when it is built from
Python data, without the two importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weibao.inventory.model import Inventory


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Cycles in a dependency graph, each once, starting at its first node in ``graph`` order.

    A depth-first search: each edge back to a node still on the path closes a cycle.
    Not every elementary cycle of a tangled graph is listed, but every cycle shares a
    node with a listed one, so fixing the listed ones and re-checking converges.
    """
    order = {name: i for i, name in enumerate(graph)}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []
    found: dict[tuple[str, ...], list[str]] = {}

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                start = min(range(len(cycle)), key=lambda i: order.get(cycle[i], len(order)))
                cycle = cycle[start:] + cycle[:start]
                found.setdefault(tuple(cycle), cycle)
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return list(found.values())


def inventory_problems(inventory: Inventory) -> list[str]:
    """The name and depends_on rules for an Inventory built from Python data (no lines)."""
    problems = []
    seen: set[str] = set()
    graph: dict[str, list[str]] = {}
    contexts = inventory.contexts()
    for ctx in contexts:
        name = ctx.device.name
        if name in seen:
            problems.append(f"device name {name!r} is used twice")
        seen.add(name)
        graph.setdefault(name, []).extend(ctx.device.depends_on)
    for ctx in contexts:
        problems += [
            f"device {ctx.device.name} depends_on unknown device {target!r}"
            for target in ctx.device.depends_on
            if target not in seen
        ]
    problems += ["depends_on makes a cycle: " + " -> ".join([*c, c[0]]) for c in find_cycles(graph)]
    ids = [co.id for cu in inventory.customers for co in cu.contracts]
    problems += [
        f"contract id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    return problems
