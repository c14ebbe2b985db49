"""The rule engine and the default rule pack: observations in, alarms with a level out.

Pure: no I/O inside evaluation, no clock of its own. ``load_engine`` is the one place
that reads rule files; ``docs/rules.md`` describes the rule language and the pack.
"""

from __future__ import annotations

from pathlib import Path

from rules.api import Engine, EngineState, Evaluation
from rules.engine import RuleEngine
from rules.loader import DEFAULT_PACK, load_rules, read_rules
from weibao.errors import Problem
from weibao.inventory.model import Inventory


def load_engine(path: Path | None = None, inventory: Inventory | None = None) -> RuleEngine:
    """Build the engine from a rules directory (the default pack when None).

    With an inventory, selectors that match none of its devices are reported as
    warnings. Raises weibao.errors.ConfigError listing every problem in the rule files.
    """
    return RuleEngine(load_rules(path or DEFAULT_PACK, inventory))


def check_rules(path: Path | None = None, inventory: Inventory | None = None) -> list[Problem]:
    """Every problem (errors and warnings) in a rules directory, for ``weibao check``."""
    return read_rules(path or DEFAULT_PACK, inventory)[1]


__all__ = [
    "DEFAULT_PACK",
    "Engine",
    "EngineState",
    "Evaluation",
    "RuleEngine",
    "check_rules",
    "load_engine",
]
