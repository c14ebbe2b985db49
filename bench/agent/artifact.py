"""What `make agent`'s one file costs a customer's server, beside node_exporter.

    .venv/bin/python bench/agent/artifact.py [--pex dist/weibao-agent-0.1.0.pex] [--scrapes 300]

Without ``--pex`` it builds one for this machine (``scripts/build_agent.py --offline``).
Measures the file's size, the disk it takes once unpacked (its private virtual
environment under ``PEX_ROOT``), the first start (unpacking included) and a later one,
each until /metrics answers, and the agent's memory after start and after N scrapes;
and node_exporter's (Debian's ``prometheus-node-exporter``) binary, installed size and
memory in the same run. A script, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts"))
import build_agent  # noqa: E402
from run import NODE_EXPORTER, free_port, measure_exporter, mib, start_node_exporter, stop  # noqa: E402

DEADLINE = 120.0


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def start_pex(pex: Path, root: Path) -> tuple[subprocess.Popen[str], str, float]:
    """The agent as the unit starts it, serving /metrics only; seconds until it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-I", str(pex), "--listen", f"127.0.0.1:{port}",
         "--state-dir", str(root / "state"), "--interval", "3600"],
        env={"PATH": os.environ["PATH"], "PEX_ROOT": str(root / "pex")},
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=(root / "agent.log").open("a"),
        text=True,
    )  # fmt: skip
    while time.monotonic() - started < DEADLINE and proc.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url, time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    log = (root / "agent.log").read_text()[-2000:]
    raise SystemExit(f"the agent did not start:\n{log}")


def dpkg_size_kib(package: str) -> int | None:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Installed-Size}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(done.stdout) if done.returncode == 0 and done.stdout.isdigit() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pex", type=Path, help="a built agent (default: build one here)")
    parser.add_argument("--scrapes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="weibao-agent-bench-") as tmp:
        root = Path(tmp)
        pex = args.pex.resolve() if args.pex else build_agent.build(root / "weibao-agent.pex", True)
        proc, url, first = start_pex(pex, root)
        stop(proc)
        unpacked = du(root / "pex")
        proc, url, later = start_pex(pex, root)
        try:
            agent = measure_exporter("weibao agent", proc, url, args.scrapes)
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            processes = len(tree)
        finally:
            stop(proc)
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print(f"weibao agent file: {pex.name}, {mib(pex.stat().st_size):.1f} MiB")
    print(f"  unpacked into PEX_ROOT on first start: {mib(unpacked):.1f} MiB")
    print(f"  start until /metrics answers: first {first:.2f} s (unpacking), later {later:.2f} s")
    print(f"  processes: {processes}")
    node = next((found for b in NODE_EXPORTER if (found := shutil.which(b))), None)
    nodes = None
    if node:
        proc, url = start_node_exporter(node)
        try:
            nodes = measure_exporter("node_exporter", proc, url, args.scrapes)
        finally:
            stop(proc)
        installed = dpkg_size_kib("prometheus-node-exporter")
        package = f", package installed {installed / 1024:.1f} MiB" if installed else ""
        print(f"node_exporter: {node}, binary {mib(Path(node).stat().st_size):.1f} MiB{package}")
    print(f"\n{'':<28} {'weibao agent':>13} {'node_exporter':>14} {'ratio':>7}")
    rows = [("RSS after start (MiB)", "rss_start"), ("PSS after start (MiB)", "pss_start"),
            (f"RSS after {args.scrapes} scrapes (MiB)", "rss_after"),
            (f"PSS after {args.scrapes} scrapes (MiB)", "pss_after")]  # fmt: skip
    for label, key in rows:
        ours = mib(getattr(agent, key))
        theirs = mib(getattr(nodes, key)) if nodes else None
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        shown = f"{theirs:.1f}" if theirs is not None else "-"
        print(f"{label:<28} {ours:>13.1f} {shown:>14} {ratio:>7}")


if __name__ == "__main__":
    main()
