"""Benchmark the weibao agent against Prometheus node_exporter, side by side, in one run.

    .venv/bin/python bench/agent/run.py [--scrapes 1000] [--rounds 3] [--profile]

Measures, for each exporter process: resident memory (RSS, and PSS) after start and after
N scrapes of /metrics, CPU seconds per scrape (the process's own user+system time, read
from /proc, divided by N), scrape latency seen by the client (median, p95), and the
number of series. For the agent it also measures its inspection as the desk receives it
(one health inspection turned into JSON) in a child process: RSS after start and after N
inspections, CPU per inspection. node_exporter is used when installed (Debian package
``prometheus-node-exporter``); ratios are printed as agent / node_exporter.

The machine is noisy: compare ratios taken in the same run, not absolute figures
between runs. This is a script, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
NODE_EXPORTER = ("prometheus-node-exporter", "node_exporter")
DEADLINE = 30.0
OWN = {"agent", "weibao", "site", "encodings", "__editable___weibao_0_1_0_finder"}


@dataclass
class Figures:
    name: str
    rss_start: float
    pss_start: float
    rss_after: float
    pss_after: float
    cpu_per_scrape: float
    latency_median: float
    latency_p95: float
    series: int


def mib(n: float) -> float:
    return n / (1024 * 1024)


def memory(proc: psutil.Process) -> tuple[float, float]:
    info = proc.memory_full_info()
    return float(info.rss), float(getattr(info, "pss", info.rss))


def cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_agent(state: Path) -> tuple[subprocess.Popen[str], str]:
    """`python -I -m agent` as the unit runs it: pushing (to a desk that is away, so nothing
    answers during the scrapes) and serving /metrics; ready after its first inspection."""
    token = state / "token"
    token.write_text("wb_benchmark_token\n")
    desk = f"http://127.0.0.1:{free_port()}"  # nothing listens there: refused at once
    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "agent", "--desk", desk,
         "--token-file", str(token), "--state-dir", str(state / "state"),
         "--listen", "127.0.0.1:0", "--interval", "3600"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + DEADLINE
    url = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise SystemExit("the agent did not start")
        ready, _, _ = select.select([proc.stderr], [], [], remaining)
        line = proc.stderr.readline() if ready else ""
        found = re.search(r"agent\.listening address=(\S+)", line)
        if found:
            url = f"http://{found.group(1)}/metrics"
        if url and "agent.desk_unreachable" in line:  # the first (full) inspection is done
            return proc, url


def start_node_exporter(binary: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("node_exporter did not start")


def measure_exporter(name: str, proc: subprocess.Popen[str], url: str, scrapes: int) -> Figures:
    watched = psutil.Process(proc.pid)
    with httpx.Client(timeout=10) as client:
        first = client.get(url).text  # the first scrape warms caches on both sides
        rss_start, pss_start = memory(watched)
        latencies = []
        cpu_before = cpu(watched)
        for _ in range(scrapes):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            latencies.append(time.perf_counter() - started)
        cpu_spent = cpu(watched) - cpu_before
        rss_after, pss_after = memory(watched)
    series = sum(1 for line in first.splitlines() if line and not line.startswith("#"))
    latencies.sort()
    return Figures(
        name=name,
        rss_start=rss_start,
        pss_start=pss_start,
        rss_after=rss_after,
        pss_after=pss_after,
        cpu_per_scrape=cpu_spent / scrapes,
        latency_median=statistics.median(latencies),
        latency_p95=latencies[int(len(latencies) * 0.95) - 1],
        series=series,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def measure_inspections(count: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("inspect_worker.py")), str(count)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(done.stdout))


SERVICE_IMPORTS = (
    "import agent.cli, agent.service, agent.metrics, weibao.delivery.push, agent.runner"
)


def import_costs() -> list[tuple[str, float]]:
    """Import time of each package the agent's service loads, with what it pulls in: the
    cumulative time of the first (outermost) import of each top-level package."""
    done = subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "-c", SERVICE_IMPORTS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
    )
    costs: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        root = parts[2].strip().split(".")[0]
        if root in OWN:
            continue
        costs[root] = max(costs.get(root, 0.0), int(parts[1]) / 1e6)
    return sorted(costs.items(), key=lambda kv: kv[1], reverse=True)[:10]


def profile(count: int) -> str:
    """Where ``count`` in-process /metrics collections, then ``count`` health inspections
    as JSON, spend their time (cProfile, by own time)."""
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(ROOT))
    from prometheus_client import generate_latest

    from agent.host import Host
    from agent.metrics import make_registry
    from agent.service import AgentConfig, make_inspector

    host = Host.local()
    registry = make_registry(lambda: host.snapshot(smart="cached"), None)
    with tempfile.TemporaryDirectory() as state:
        inspector = make_inspector(AgentConfig(state_dir=Path(state)), host)
        inspector.prime()
        work = {
            "/metrics collections": lambda: generate_latest(registry),
            "health inspections, as JSON": lambda: json.dumps(inspector.inspect()),
        }
        out = io.StringIO()
        for label, once in work.items():
            once()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(count):
                once()
            profiler.disable()
            out.write(f"\n{count} {label}:\n")
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print where a scrape's time goes")
    args = parser.parse_args()
    node = next((found for b in NODE_EXPORTER if (found := shutil.which(b))), None)
    print(f"machine: {os.cpu_count()} CPUs, {psutil.cpu_count(logical=False)} cores; "
          f"python {sys.version.split()[0]}; node_exporter: {node or 'not installed'}")  # fmt: skip
    agents: list[Figures] = []
    nodes: list[Figures] = []
    inspections: list[dict[str, float]] = []
    for round_no in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory() as state:
            proc, url = start_agent(Path(state))
            try:
                agents.append(measure_exporter("weibao agent", proc, url, args.scrapes))
            finally:
                stop(proc)
        if node:
            proc, url = start_node_exporter(node)
            try:
                nodes.append(measure_exporter("node_exporter", proc, url, args.scrapes))
            finally:
                stop(proc)
        inspections.append(measure_inspections(args.scrapes))
        print(f"round {round_no}/{args.rounds} done", file=sys.stderr)
    report(agents, nodes, inspections, args.scrapes)
    print("\nwhat the agent's service imports, slowest first (python -X importtime, s):")
    for name, seconds in import_costs():
        print(f"  {name:<28} {seconds:.3f}")
    if args.profile:
        print(profile(args.scrapes))


def med(values: list[float]) -> float:
    return statistics.median(values)


def report(
    agents: list[Figures], nodes: list[Figures], inspections: list[dict[str, float]], n: int
) -> None:
    rows = [
        ("RSS after start (MiB)", "rss_start", mib),
        ("PSS after start (MiB)", "pss_start", mib),
        (f"RSS after {n} scrapes (MiB)", "rss_after", mib),
        (f"PSS after {n} scrapes (MiB)", "pss_after", mib),
        ("CPU per scrape (ms)", "cpu_per_scrape", lambda v: v * 1000),
        ("latency median (ms)", "latency_median", lambda v: v * 1000),
        ("latency p95 (ms)", "latency_p95", lambda v: v * 1000),
        ("series", "series", float),
    ]
    print(f"\nmedians of {len(agents)} rounds, {n} scrapes each")
    print(f"{'':<30} {'weibao agent':>13} {'node_exporter':>14} {'ratio':>7}")
    for label, attr, unit in rows:
        a = unit(med([getattr(f, attr) for f in agents]))
        if nodes:
            b = unit(med([getattr(f, attr) for f in nodes]))
            print(f"{label:<30} {a:>13.2f} {b:>14.2f} {a / b:>7.2f}")
        else:
            print(f"{label:<30} {a:>13.2f} {'-':>14} {'-':>7}")
    print(f"\nagent inspection as pushed to the desk (health, JSON), {n} in a row:")
    print(f"  RSS after start   {mib(med([i['rss_start'] for i in inspections])):.1f} MiB"
          f"  (PSS {mib(med([i['pss_start'] for i in inspections])):.1f})")  # fmt: skip
    print(f"  RSS after {n:<6}  {mib(med([i['rss_after'] for i in inspections])):.1f} MiB"
          f"  (PSS {mib(med([i['pss_after'] for i in inspections])):.1f})")  # fmt: skip
    per = med([i["cpu_per_inspection"] for i in inspections])
    print(f"  CPU per inspection {per * 1000:.2f} ms; per 100 inspections {per * 100:.3f} s")
    if nodes:
        node_cpu = med([f.cpu_per_scrape for f in nodes])
        print(f"  ratio to node_exporter's CPU per scrape: {per / node_cpu:.2f}")


if __name__ == "__main__":
    main()
