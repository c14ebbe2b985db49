"""``make bench``: run every benchmark under bench/ and rewrite the figures in RESULTS.md.

Each benchmark runs as its own process with its default sizes (``--quick`` here: the
small sizes of its smoke test, for a try of the target itself). Its output replaces the
block between ``<!-- make bench: NAME -->`` and ``<!-- /make bench: NAME -->`` in
``bench/RESULTS.md`` (appended at the end when the page has none yet), stamped with the
date and the machine's load; the prose around the blocks, written by hand, stays. A
benchmark that fails leaves its block as it was and is named at the end (exit 1).

    .venv/bin/python bench/run_all.py [--only ingest,storm] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"

# name: (arguments at full size, arguments with --quick)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "ingest": (
        ["ingest/run.py", "--db", "both"],
        [
            "ingest/run.py",
            "--db",
            "sqlite",
            "--devices",
            "100",
            "--batches",
            "10",
            "--two-desks",
            "0",
            "--latency",
            "100",
            "--probes",
            "10",
        ],
    ),
    "storm": (["storm/run.py"], ["storm/run.py", "--devices", "60", "--batch", "10"]),
    "web": (
        ["web/run.py"],
        ["web/run.py", "--tickets", "300", "--devices", "20", "--closed", "20"],
    ),
    "report": (["report/run.py"], ["report/run.py", "--quick", "--db", "sqlite"]),
    "collector": (["collector/run.py"], ["collector/run.py", "--quick"]),
    "agent": (["agent/run.py"], ["agent/run.py", "--scrapes", "50", "--rounds", "1"]),
    "snmp": (["snmp/bench_snmp.py"], ["snmp/bench_snmp.py", "--rounds", "3"]),
}


def run_one(name: str, quick: bool) -> str:
    argv = BENCHMARKS[name][1 if quick else 0]
    done = subprocess.run(
        [sys.executable, str(HERE / argv[0]), *argv[1:]],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        timeout=6 * 3600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def rewrite(page: str, name: str, output: str, quick: bool) -> str:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    size = " (--quick sizes)" if quick else ""
    block = (
        f"<!-- make bench: {name} -->\n"
        f"Last `make bench` run{size}: {stamp}, load average {load}.\n\n"
        f"```\n{output}\n```\n"
        f"<!-- /make bench: {name} -->"
    )
    pattern = re.compile(
        rf"<!-- make bench: {re.escape(name)} -->.*?<!-- /make bench: {re.escape(name)} -->",
        re.DOTALL,
    )
    if pattern.search(page):
        return pattern.sub(lambda _: block, page)
    return page.rstrip("\n") + f"\n\n### `make bench`: {name}\n\n{block}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="the smoke tests' tiny sizes")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    failed: list[str] = []
    for name in names:
        print(f"bench: {name} ...", flush=True)
        try:
            output = run_one(name, args.quick)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(exc, file=sys.stderr)
            failed.append(name)
            continue
        tmp = RESULTS.with_suffix(".md.tmp")
        tmp.write_text(rewrite(RESULTS.read_text(), name, output, args.quick))
        tmp.replace(RESULTS)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
