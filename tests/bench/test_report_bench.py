"""Smoke test of the reports benchmark (``bench/report/run.py --quick``).

A tiny run on SQLite: 12 devices, a few tickets, one round. It checks that every part
produced figures that add up: the generated rollup rows matched catch-up's (the run
stops otherwise), the keep-up part stored and rolled up every observation, every report
format was made in its own process with a size, a time and a peak RSS, and the issue's
targets were judged. Speed is never asserted here (bench/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.peers import require_peer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "report" / "run.py"


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    for peer in ("pdftotext", "pdfinfo"):
        require_peer(peer, "the benchmark compares the PDF with poppler-utils")
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--db", "sqlite", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def test_generated_rollups_match_catch_up(figures: dict[str, Any]) -> None:
    [backend] = figures["backends"]
    assert backend["db"] == "sqlite"
    assert backend["verify"]["rows_compared"] > 1000


def test_keep_up_rolls_every_observation(figures: dict[str, Any]) -> None:
    keep = figures["backends"][0]["keepup"]
    assert keep["observations"] == keep["devices"] * keep["minutes"]
    assert keep["catch_ups"] == 2 and keep["once_rows"] > 0
    assert keep["catch_up_cpu_s"] > 0 and keep["core_share"] > 0


def test_every_report_is_made_and_measured(figures: dict[str, Any]) -> None:
    backend = figures["backends"][0]
    assert backend["inspection_data"]["tickets"] == 5
    assert backend["quarterly_data"]["tickets"] == 60
    assert backend["quarterly_data"]["escalations"] > 0
    made = {(r["report"], r["format"]): r for r in backend["reports"]}
    for key in [("inspection", f) for f in ("pdf", "html", "xlsx", "json")] + [
        ("quarterly", "pdf"),
        ("quarterly", "xlsx"),
    ]:
        row = made[key]
        assert row["bytes"] > 1000 and row["seconds"] > 0 and row["maxrss_mb"] > 50
    assert made[("inspection", "pdf")]["pdf_pages"] >= 3
    assert made[("inspection", "floor (plain SQL)")]["seconds"] > 0


def test_targets_and_machine_are_reported(figures: dict[str, Any]) -> None:
    assert len(figures["targets"]) == 6
    assert all(t["pass"] in (True, False) and t["detail"] for t in figures["targets"])
    for key in ("cpu", "python", "sqlite", "weasyprint"):
        assert figures["machine"][key]
