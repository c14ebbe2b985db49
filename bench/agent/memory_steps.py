"""Where the agent's resident memory goes: RSS after each step of its start, in the order
``python -I -m agent --desk ... --listen ...`` takes them.

    .venv/bin/python -I bench/agent/memory_steps.py [--heap]

Each line is the step, the RSS it added and the RSS so far (``/proc/self/status``
``VmRSS``). With ``--heap``, also the Python heap each step allocated (``tracemalloc``,
which tells Python objects from shared libraries and allocator slack, but inflates the
RSS figures with its own bookkeeping). Not a test: nothing is asserted.
"""

from __future__ import annotations


def _rss_now() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return float(next(line for line in status if line.startswith("VmRSS:")).split()[1]) * 1024


INTERPRETER = _rss_now()  # before this script imports anything: hence E402 below

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
MiB = 1024 * 1024


def rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    state = Path(tempfile.mkdtemp())
    (state / "token").write_text("wb_benchmark_token\n")
    held: dict[str, Any] = {}  # what each step made, kept alive for the next ones

    def import_cli() -> None:
        import agent.cli  # noqa: F401  (argparse, logging, psutil, the readers)

    def serve_metrics() -> None:
        from agent.metrics import make_registry, serve_metrics
        from agent.stats import AgentStats

        host = held["host"]
        registry = make_registry(lambda: host.snapshot(smart="cached"), AgentStats())
        held["server"] = serve_metrics(registry, "127.0.0.1", 0)

    def push_client() -> None:
        from weibao.delivery.push import PushClient, tls_verification

        held["client"] = PushClient("https://127.0.0.1:9", "t", verify=tls_verification(None))

    def host_and_inspector() -> None:
        from agent.host import Host
        from agent.service import AgentConfig, make_inspector

        held["host"] = host = Host.local()
        held["inspector"] = make_inspector(AgentConfig(state_dir=state), host)

    def first_inspection() -> None:
        inspector = held["inspector"]
        inspector.prime()
        json.dumps(inspector.inspect(full=True))

    def scrape() -> None:
        from prometheus_client import generate_latest

        from agent.metrics import make_registry

        host = held["host"]
        generate_latest(make_registry(lambda: host.snapshot(smart="cached"), None))

    steps: list[tuple[str, Callable[[], None]]] = [
        ("agent.cli: the command, the readers, psutil", import_cli),
        ("Host and Inspector built", host_and_inspector),
        ("prometheus_client and the /metrics server", serve_metrics),
        ("httpx and the push client (TLS context, CA store)", push_client),
        ("the first (full) inspection, as JSON", first_inspection),
        ("one /metrics collection", scrape),
    ]
    heap_too = "--heap" in sys.argv
    print(f"{'step':<52} {'+RSS':>8} {'RSS':>8} {'+heap' if heap_too else '':>8}  (MiB)")
    print(f"{'the Python interpreter (python -I)':<52} {'':>8} {INTERPRETER / MiB:>8.1f}")
    print(f"{'this script (json, tempfile, pathlib, typing, ...)':<52} "
          f"{(rss() - INTERPRETER) / MiB:>8.1f} {rss() / MiB:>8.1f}")  # fmt: skip
    if heap_too:
        tracemalloc.start()
    for label, step in steps:
        before, heap_before = rss(), tracemalloc.get_traced_memory()[0]
        step()
        added, heap = rss() - before, tracemalloc.get_traced_memory()[0] - heap_before
        shown = f"{heap / MiB:>8.1f}" if heap_too else ""
        print(f"{label:<52} {added / MiB:>8.1f} {rss() / MiB:>8.1f} {shown}")
    tracemalloc.stop()
    print(f"threads: {threading.active_count()}; modules loaded: {len(sys.modules)}; "
          f"pydantic loaded: {'pydantic' in sys.modules}")  # fmt: skip
    server = held["server"]
    server.shutdown()


if __name__ == "__main__":
    main()
