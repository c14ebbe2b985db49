"""The ingest benchmark runs end to end at a tiny size, through a real desk process (its
figures are not judged here: bench/RESULTS.md has them)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest" / "run.py"


def test_the_ingest_benchmark_runs_at_a_tiny_size() -> None:
    spec = importlib.util.spec_from_file_location("bench_ingest_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        figures = module.run("sqlite", devices=(20,), batches=4, pushers=2, latency=20, probes=3)
    finally:
        del sys.modules[spec.name]
    [scale] = figures["scale"]
    assert scale["devices"] == 20 and scale["batches"] == 4
    assert scale["observations_per_s"] > 0 and scale["desk_cpu_ms_per_batch"] > 0
    latency = figures["latency"]
    assert latency["tickets_missing"] == 0 and latency["alarm_to_ticket_p99_ms"] > 0
