"""The rule engine and the default rule pack: observations in, alarms with a level out.

Pure: no I/O inside evaluation, no clock of its own. ``load_engine`` is the one place
that reads rule files.
"""

from __future__ import annotations

from pathlib import Path

from rules.api import Engine, EngineState, Evaluation

DEFAULT_PACK = Path(__file__).parent / "pack"


def load_engine(path: Path | None = None) -> Engine:
    """Build the engine from a rules directory (the default pack when None).

    Raises weibao.errors.ConfigError listing every problem in the rule files.
    """
    from rules.first import FirstRuleEngine

    return FirstRuleEngine()


__all__ = ["DEFAULT_PACK", "Engine", "EngineState", "Evaluation", "load_engine"]
