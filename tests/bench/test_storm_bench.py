"""The storm benchmark runs end to end at a tiny size, through a real desk process."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "storm" / "run.py"


@pytest.mark.parametrize("late_parent", [False, True])
def test_the_storm_benchmark_runs_at_a_tiny_size(late_parent: bool) -> None:
    spec = importlib.util.spec_from_file_location("bench_storm_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.run(devices=60, pushers=4, batch=10, late_parent=late_parent)
    assert figures["tickets_open_at_end"] == 1
    assert figures["every_dependant_as_evidence"] is True
    assert figures["parent_fired_to_single_ticket_s"] is not None
    if not late_parent:
        assert figures["tickets_opened"] == 1
