"""weibao's side of the fleet benchmark, in a child process of its own.

    python bench/collector/weibao_worker.py < job.json > figures.json

A process of its own, so that its CPU time (``getrusage(RUSAGE_SELF)``, every thread
included) is weibao's alone: not the orchestrating script's, not the peers'. Each job
warms up first (engines, imports, per-device row hints, like a scheduler's second round)
and then times one pass. Only the product's public API is used (``SnmpDriver``,
``SshDriver``), so whichever SNMP transport the driver has is what gets measured.

Jobs (JSON on stdin):

- ``{"kind": "snmp", "targets": [...], "concurrency": N}``: a health inspection of every
  target (``host:port``), N at a time;
- ``{"kind": "inflight", "targets": [...], "requests": N, "rounds": R}``: N sessions at
  once, each one GET of the system group, no retries, R times;
- ``{"kind": "ssh", "port": P, "user": U, "key": F, "host_key": FP, "count": N,
  "concurrency": C, "per_command": false}``: N full Linux inspections of the local sshd,
  C at a time; ``per_command`` true runs the same script once per command, one channel
  each (the driver's design before the one-channel script), for comparison in one run.

The SNMP community is read from ``WEIBAO_BENCH_COMMUNITY`` (a secret reference, as the
inventory would have it).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fleet import Meter  # bench/collector, beside this file

from collector.driver import Depth, InspectionResult
from collector.snmp.credentials import resolve_credentials
from collector.snmp.driver import SnmpDriver
from collector.snmp.readers.system import SYSTEM_OIDS
from collector.ssh.client import Session, SshConnection
from collector.ssh.driver import SshDriver
from weibao.errors import InspectionError, Timeout
from weibao.inventory.model import SnmpInspection, SshInspection

COMMUNITY_ENV = "WEIBAO_BENCH_COMMUNITY"
BUDGET = 30.0  # seconds for one whole inspection, as bench/snmp
_ADDRESS = re.compile(r"127(?:\.\d+){3}(?::\d+)?")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def reason(result: InspectionResult) -> str:
    """A failure reason that groups: the error kind and message, addresses elided."""
    text = _ADDRESS.sub("DEVICE", result.observation.error or "")
    return f"{result.observation.meta.get('error_kind', '?')}: {text[:160]}"


def split(target: str) -> tuple[str, int]:
    host, port = target.rsplit(":", 1)
    return host, int(port)


async def timed(
    jobs: list[Callable[[], Awaitable[InspectionResult]]], concurrency: int, watch: list[int]
) -> dict[str, Any]:
    """Run ``jobs`` ``concurrency`` at a time; wall, CPU, failures and costs per device."""
    limit = asyncio.Semaphore(concurrency)
    results: list[InspectionResult] = []

    async def one(job: Callable[[], Awaitable[InspectionResult]]) -> None:
        async with limit:
            results.append(await job())

    with Meter(watch) as meter:
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(one(j) for j in jobs))
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    failed = [r for r in results if r.failed]
    good = [r.observation.meta for r in results if not r.failed]
    return {
        "devices": len(results),
        "wall": wall,
        "cpu": cpu,
        "failed": len(failed),
        "reasons": dict(Counter(reason(r) for r in failed).most_common(5)),
        "values": _mean(good, "varbinds"),
        "requests": _mean(good, "requests"),
        "commands": _mean(good, "commands"),
        **meter.figures(),
    }


def _mean(metas: list[dict[str, str]], key: str) -> float | None:
    numbers = [float(m[key]) for m in metas if key in m]
    return sum(numbers) / len(numbers) if numbers else None


async def snmp_job(job: dict[str, Any]) -> dict[str, Any]:
    targets: list[str] = job["targets"]
    concurrency = int(job["concurrency"])
    driver = SnmpDriver()
    inspections: dict[int, SnmpInspection] = {}

    def settings(port: int) -> SnmpInspection:
        if port not in inspections:
            inspections[port] = SnmpInspection(
                version="2c", community=f"env:{COMMUNITY_ENV}", port=port
            )
        return inspections[port]

    def inspection(i: int, target: str) -> Callable[[], Awaitable[InspectionResult]]:
        host, port = split(target)

        def run() -> Awaitable[InspectionResult]:
            now = datetime.now(UTC)
            return driver.inspect_target(
                f"dev-{i}", host, settings(port), "server", Depth.health, now, BUDGET
            )

        return run

    jobs = [inspection(i, t) for i, t in enumerate(targets)]
    try:
        warm = await timed(jobs, concurrency, [])  # engine, profile detection, row hints
        figures = await timed(jobs, concurrency, job.get("watch", []))
    finally:
        driver.close()
    figures["warm_failed"] = warm["failed"]
    figures["transport"] = f"{type(driver.pool).__module__}.{type(driver.pool).__name__}"
    return figures


async def inflight_job(job: dict[str, Any]) -> dict[str, Any]:
    """Many sessions, one GET each, all at once: answered, timed out (lost), other."""
    targets: list[str] = job["targets"]
    requests, rounds = int(job["requests"]), int(job.get("rounds", 1))
    timeout = float(job.get("timeout", 5.0))
    driver = SnmpDriver()
    settings = SnmpInspection(version="2c", community=f"env:{COMMUNITY_ENV}")
    creds = resolve_credentials(settings)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []

    async def get(target: str) -> None:
        host, port = split(target)
        started = time.perf_counter()
        try:
            async with driver.pool.session(creds, host, port, timeout, 0) as session:
                answer = await session.get(list(SYSTEM_OIDS))
        except Timeout:
            outcomes["timed out"] += 1
            return
        except InspectionError as exc:
            outcomes[f"error: {_ADDRESS.sub('DEVICE', str(exc))[:120]}"] += 1
            return
        latencies.append(time.perf_counter() - started)
        complete = len(answer) == len(SYSTEM_OIDS)
        outcomes["answered" if complete else "incomplete answer"] += 1

    try:
        await get(targets[0])  # the engine and its socket exist before the burst
        outcomes.clear()
        latencies.clear()
        with Meter(job.get("watch", [])) as meter:
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            for _ in range(rounds):
                await asyncio.gather(*(get(targets[i % len(targets)]) for i in range(requests)))
            wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    finally:
        driver.close()
    latencies.sort()
    return {
        "sent": requests * rounds,
        "in_flight": requests,
        "rounds": rounds,
        "answered": outcomes.pop("answered", 0),
        "timed_out": outcomes.pop("timed out", 0),
        "other": dict(outcomes),
        "wall": wall,
        "cpu": cpu,
        "latency_median": latencies[len(latencies) // 2] if latencies else None,
        "latency_max": latencies[-1] if latencies else None,
        **meter.figures(),
    }


async def ssh_job(job: dict[str, Any]) -> dict[str, Any]:
    settings = SshInspection.model_validate(
        {
            "user": job["user"],
            "port": int(job["port"]),
            "key": f"file:{job['key']}",
            "host_key": job["host_key"],
            "timeout": "10s",
            "os": "linux",
        }
    )
    concurrency = int(job["concurrency"])
    driver = SshDriver(max_threads=max(16, concurrency))
    if job.get("per_command"):
        one_script = SshConnection._run_script

        def per_command(
            self: SshConnection, session: Session, commands: list[tuple[str, str]], deadline: float
        ) -> None:
            for command in commands:  # a channel, hence a session and a shell, each
                one_script(self, session, [command], deadline)

        SshConnection._run_script = per_command  # type: ignore[method-assign]

    def inspection(i: int) -> Callable[[], Awaitable[InspectionResult]]:
        def run() -> Awaitable[InspectionResult]:
            now = datetime.now(UTC)
            return driver.inspect_target(f"host-{i}", "127.0.0.1", settings, Depth.full, now, 60)

        return run

    try:
        warm = await timed([inspection(-1)], 1, [])  # paramiko's and cryptography's first use
        jobs = [inspection(i) for i in range(int(job["count"]))]
        figures = await timed(jobs, concurrency, job.get("watch", []))
    finally:
        driver.close()
    figures["warm_failed"] = warm["failed"]
    return figures


JOBS = {"snmp": snmp_job, "inflight": inflight_job, "ssh": ssh_job}


def main() -> None:
    job = json.load(sys.stdin)
    if COMMUNITY_ENV not in os.environ and job["kind"] != "ssh":
        raise SystemExit(f"set {COMMUNITY_ENV} to the fleet's community")
    figures = asyncio.run(JOBS[job["kind"]](job))
    json.dump(figures, sys.stdout)


if __name__ == "__main__":
    main()
