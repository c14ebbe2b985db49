"""The collector fleet benchmark of issue 4: weibao next to net-snmp and snmp_exporter.

    .venv/bin/python bench/collector/run.py [--devices 500] [--quick] [--json]

In one run, on one simulated fleet (several ``snmpd`` on 127.77.X.Y, started and stopped
here), and each time on the same targets and OIDs:

1. weibao's SNMP health check of every device (``SnmpDriver``, net-snmp profile) at each
   concurrency, in a worker process of its own: devices/s, CPU per device, failures;
2. net-snmp's CLI (``snmpget`` + one ``snmpbulkwalk`` per table) under ``xargs -P N``;
3. Prometheus ``snmp_exporter`` scraped N at a time (skipped when not installed:
   ``apt-get install prometheus-snmp-exporter``);
4. 1,000 SNMP requests in flight in one weibao process;
5. SSH: weibao's full Linux inspection against a throwaway local ``sshd``, next to the
   OpenSSH client running the same commands over one connection.

Then the issue's targets as PASS/FAIL lines. The machine is noisy: read the ratios taken
in this run, not absolute figures between runs. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import report
import rivals
import sshd
from fleet import COMMUNITY, Fleet, ReadPlan, read_plan, start_fleet

from collector.driver import Depth
from collector.ssh.profiles import LINUX

WORKER = Path(__file__).with_name("weibao_worker.py")
Row = dict[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, help="simulated SNMP devices (default 500)")
    parser.add_argument("--concurrency", help="SNMP concurrency levels (default 1,16,64,256)")
    parser.add_argument("--subset", type=int, help="devices at concurrency 1 (default 100)")
    parser.add_argument("--inflight", type=int, help="requests at once (default 1000)")
    parser.add_argument("--ssh-count", type=int, help="SSH inspections per level (default 32)")
    parser.add_argument("--ssh-concurrency", help="SSH concurrency levels (default 1,16)")
    parser.add_argument("--no-ssh", action="store_true", help="skip the SSH part")
    parser.add_argument("--quick", action="store_true", help="a small fleet, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "devices": 6 if quick else 500,
        "concurrency": "1,4" if quick else "1,16,64,256",
        "subset": 6 if quick else 100,
        "inflight": 50 if quick else 1000,
        "ssh_count": 4 if quick else 32,
        "ssh_concurrency": "1,4" if quick else "1,16",
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.levels = _levels(parser, args.concurrency)
    args.ssh_levels = _levels(parser, args.ssh_concurrency)
    if args.devices < 1 or args.subset < 1 or args.inflight < 1:
        parser.error("--devices, --subset and --inflight must be at least 1")
    return args


def _levels(parser: argparse.ArgumentParser, text: str) -> list[int]:
    try:
        levels = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        parser.error(f"{text!r} is not a comma-separated list of numbers, e.g. 1,16,64")
    if not levels or levels[0] < 1:
        parser.error(f"{text!r}: concurrency levels must be 1 or more")
    return levels


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def weibao(job: dict[str, Any]) -> Row:
    """Run one job in the worker process (its CPU is weibao's alone)."""
    env = {**os.environ, "WEIBAO_BENCH_COMMUNITY": COMMUNITY}
    done = subprocess.run(
        [sys.executable, str(WORKER)],
        input=json.dumps(job),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"the weibao worker failed ({job['kind']}):\n{done.stderr[-3000:]}")
    if done.stderr.strip():
        progress(f"weibao worker said on stderr:\n{done.stderr[-2000:]}")
    result: Row = json.loads(done.stdout)
    return result


def exporter_mismatch(plan: ReadPlan) -> str | None:
    """snmp_exporter.yml must read what weibao reads: say so when the profile moved on."""
    module = yaml.safe_load(rivals.EXPORTER_CONFIG.read_text())[rivals.MODULE]
    if module["get"] != plan.scalars or sorted(module["walk"]) != sorted(plan.tables):
        return (
            f"{rivals.EXPORTER_CONFIG.name} reads get={module['get']} walk={module['walk']}, "
            f"weibao's profile get={plan.scalars} walk tables={plan.tables}: update the file"
        )
    return None


def measure_snmp(args: argparse.Namespace, fleet: Fleet, plan: ReadPlan) -> list[Row]:
    binary = rivals.exporter_binary()
    exporter = rivals.Exporter(binary) if binary else None
    rows: list[Row] = []
    try:
        for level in args.levels:
            targets = fleet.targets[: args.subset] if level == 1 else fleet.targets
            progress(f"SNMP, concurrency {level}, {len(targets)} devices: weibao")
            job = {"kind": "snmp", "targets": targets, "concurrency": level,
                   "watch": fleet.pids}  # fmt: skip
            rows.append({"client": "weibao", "concurrency": level, **weibao(job)})
            progress(f"SNMP, concurrency {level}: net-snmp CLI, xargs -P {level}")
            cli = rivals.run_cli(plan, targets, level, fleet.env, fleet.pids)
            rows.append({"client": "net-snmp CLI", "concurrency": level, **cli})
            if exporter is not None:
                progress(f"SNMP, concurrency {level}: snmp_exporter")
                scraped = exporter.scrape_all(targets, level, fleet.pids)
                rows.append({"client": "snmp_exporter", "concurrency": level, **scraped})
    finally:
        if exporter is not None:
            exporter.stop()
    return [report.per_device(r) for r in rows]


def measure_inflight(args: argparse.Namespace, fleet: Fleet) -> list[Row]:
    n = args.inflight
    progress(f"{n} SNMP GETs at once, 3 rounds")
    burst = weibao({"kind": "inflight", "targets": fleet.targets, "requests": n, "rounds": 3,
                    "watch": fleet.pids})  # fmt: skip
    progress(f"{n} health inspections at once")
    targets = [fleet.targets[i % len(fleet.targets)] for i in range(n)]
    many = weibao({"kind": "snmp", "targets": targets, "concurrency": n, "watch": fleet.pids})
    return [
        {"what": f"{n:,} GETs at once", **burst},
        {"what": f"{n:,} health inspections at once", "sent": many["devices"],
         "answered": many["devices"] - many["failed"], "timed_out": sum(
             c for r, c in many["reasons"].items() if r.startswith("timeout")),
         **{k: many[k] for k in ("wall", "cpu", "failed", "reasons", "udp_drops")}},
    ]  # fmt: skip


PER_COMMAND = "weibao, channel per command (before)"


def measure_ssh(args: argparse.Namespace) -> tuple[list[Row], str | None]:
    missing = sshd.available()
    if args.no_ssh or missing:
        return [], "skipped (--no-ssh)" if args.no_ssh else missing
    server = sshd.start_sshd(max_startups=max(args.ssh_levels) * 2 + 10)
    since = datetime.now(UTC) - timedelta(days=1)  # what a first full inspection reads
    commands = [c.render(since) for c in LINUX.for_depth(Depth.full)]
    rows: list[Row] = []
    try:
        watch = [server.proc.pid]
        for level in args.ssh_levels:
            n = args.ssh_count
            progress(f"SSH, concurrency {level}, {n} full inspections: weibao")
            job = {"kind": "ssh", **server.target(), "count": n, "concurrency": level,
                   "watch": watch}  # fmt: skip
            rows.append({"client": "weibao", "concurrency": level, "channels": 1, **weibao(job)})
            progress(f"SSH, concurrency {level}: weibao, one channel per command (before)")
            before = weibao({**job, "per_command": True})
            rows.append({"client": PER_COMMAND, "concurrency": level,
                         "channels": len(commands), **before})  # fmt: skip
            for label, kex in (("OpenSSH", None), ("OpenSSH, curve25519", "curve25519-sha256")):
                progress(f"SSH, concurrency {level}: {label}")
                figures = rivals.run_openssh(server.target(), commands, n, level, kex, watch)
                rows.append({"client": label, "concurrency": level, "channels": 1, **figures})
    finally:
        server.stop()
    return [report.per_device(r) for r in rows], None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    binary = rivals.exporter_binary()
    machine = report.describe_machine(rivals.exporter_version(binary) if binary else None)
    plan = read_plan()
    notes = [n for n in (exporter_mismatch(plan),) if n]
    if binary is None:
        notes.append("snmp_exporter skipped: apt-get install prometheus-snmp-exporter curl")
    with tempfile.TemporaryDirectory(prefix="weibao-bench-collector-") as tmp:
        progress(f"starting {args.devices} simulated devices")
        fleet = start_fleet(Path(tmp) / "fleet", args.devices)
        try:
            cli_values = rivals.cli_values(plan, fleet.targets[0], fleet.env)
            snmp = measure_snmp(args, fleet, plan)
            for row in snmp:
                if row["client"] == "net-snmp CLI":
                    row["values"] = cli_values
            inflight = measure_inflight(args, fleet)
        finally:
            fleet.stop()
    ssh, ssh_note = measure_ssh(args)
    if ssh_note:
        notes.append(f"SSH part: {ssh_note}")
    doc = {
        "machine": machine,
        "fleet": {
            "devices": args.devices,
            "snmpd_processes": len(fleet.procs),
            "first": fleet.targets[0],
            "last": fleet.targets[-1],
            "plan": plan.__dict__,
            "plan_summary": plan.describe(),
            "transport": next((r.get("transport") for r in snmp if "transport" in r), None),
        },
        "snmp": snmp,
        "ratios": report.ratio_rows(snmp),
        "inflight": inflight,
        "ssh": ssh,
        "targets": report.targets(snmp, inflight, ssh),
        "notes": notes,
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=str)
        print()
    else:
        print_text(doc)


def print_text(doc: dict[str, Any]) -> None:
    fleet = doc["fleet"]
    print("machine: " + "; ".join(f"{k} {v}" for k, v in doc["machine"].items()))
    print(f"\nfleet: {fleet['devices']} devices on {fleet['snmpd_processes']} snmpd processes "
          f"({fleet['first']} .. {fleet['last']}); {fleet['plan_summary']}; "
          f"weibao's SNMP transport: {fleet['transport']}")  # fmt: skip
    print("\nSNMP health check of every device (CPU: the client's own; agents': snmpd's)\n")
    print(report.snmp_table(doc["snmp"]))
    scrapers = [r for r in doc["snmp"] if "scraper_cpu" in r]
    if scrapers:
        per = sum(r["scraper_cpu"] for r in scrapers) / sum(r["devices"] for r in scrapers)
        print(
            f"\n(snmp_exporter's scraper, one curl --parallel, not counted above: "
            f"{per * 1000:.2f} ms CPU per scrape; UDP drops count the whole machine)"
        )
    reasons = report.reasons_text(doc["snmp"])
    if reasons:
        print("\nfailures:\n" + reasons)
    print("\n" + report.ratio_table(doc["ratios"]))
    print("\nrequests in flight\n")
    print(report.inflight_table(doc["inflight"]))
    if doc["ssh"]:
        print("\nSSH full Linux inspection of the local sshd\n")
        print(report.ssh_table(doc["ssh"]))
        reasons = report.reasons_text(doc["ssh"])
        if reasons:
            print("\nfailures:\n" + reasons)
    print("\ntargets (issue 4)\n")
    print(report.targets_text(doc["targets"]))
    for note in doc["notes"]:
        print(f"\nnote: {note}")
    print(f"\n{doc['seconds']:.0f} s in all")


if __name__ == "__main__":
    main()
