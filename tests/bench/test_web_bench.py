"""The console benchmark runs end to end at a tiny size (its figures are not judged)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "web" / "run.py"


def test_the_web_benchmark_runs_at_a_tiny_size() -> None:
    spec = importlib.util.spec_from_file_location("bench_web_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.run(tickets=300, devices=20, rounds=3, closed=20)
    assert set(figures) == {"/queue", "/queue?limit=1000", "/dashboard"}
    for median, p90 in figures.values():
        assert 0 < median <= p90
