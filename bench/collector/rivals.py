"""The peers weibao is measured against, on the same targets and the same OIDs.

- net-snmp's command-line tools, one device per ``sh`` running one ``snmpget`` of the
  scalars and one ``snmpbulkwalk`` per table (the tool walks only its first OID), many
  devices in parallel with ``xargs -P N``; CPU is the children's rusage (xargs, sh and
  every tool, as the kernel accounts them to the process that waits);
- Prometheus ``snmp_exporter`` (Debian ``prometheus-snmp-exporter``), one process, one
  scrape per device with ``bench/collector/snmp_exporter.yml``, N at a time by one
  ``curl --parallel``; CPU is the exporter's own user+system time from
  ``/proc/<pid>/stat`` (curl's is reported apart);
- OpenSSH's ``ssh`` client running the Linux profile's commands in one shell over one
  connection per host, in parallel with ``xargs -P N``.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from fleet import COMMUNITY, Meter, ReadPlan, process_cpu, stop_processes

EXPORTER = ("prometheus-snmp-exporter", "snmp_exporter")
EXPORTER_CONFIG = Path(__file__).with_name("snmp_exporter.yml")
MODULE = "weibao_health"
TIMEOUT, RETRIES, REPETITIONS = 2, 1, 25  # weibao's defaults (SnmpInspection)
SCRAPE_TIMEOUT = 30  # seconds for one whole scrape, as weibao's inspection budget
_ADDRESS = re.compile(r"127(?:\.\d+){3}(?::\d+)?")


def children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _elide(text: str) -> str:
    return _ADDRESS.sub("DEVICE", text.strip().rstrip("."))[:160]


CLI_SCRIPT = """\
# one device: $1 is host:port; prints the device, and FAIL with the failed reads
set -u
o="-v2c -c $COMMUNITY -t {timeout} -r {retries} -On -Oq"
f=""
snmpget $o "$1" {scalars} >/dev/null 2>>"$ERRORS" || f="$f get"
for t in {tables}; do
  snmpbulkwalk $o -Cr{repetitions} "$1" "$t" >/dev/null 2>>"$ERRORS" || f="$f walk:$t"
done
echo "$1${{f:+ FAIL$f}}"
"""


def cli_values(plan: ReadPlan, target: str, env: dict[str, str]) -> int:
    """Values one device gives the CLI (counted once, outside the timed runs)."""
    base = ["-v2c", "-c", COMMUNITY, "-On", "-Oq", target]
    lines = subprocess.run(
        ["snmpget", *base, *plan.scalars], env=env, capture_output=True, text=True, timeout=30
    ).stdout.splitlines()
    for table in plan.tables:
        lines += subprocess.run(
            ["snmpbulkwalk", f"-Cr{REPETITIONS}", *base, table],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.splitlines()
    return len(lines)


def run_cli(
    plan: ReadPlan, targets: list[str], parallel: int, env: dict[str, str], watch: list[int]
) -> dict[str, Any]:
    """Every target once with ``xargs -P parallel``; wall, CPU, failures."""
    with tempfile.TemporaryDirectory(prefix="weibao-bench-cli-") as tmp:
        script = Path(tmp) / "poll.sh"
        script.write_text(
            CLI_SCRIPT.format(
                timeout=TIMEOUT,
                retries=RETRIES,
                repetitions=REPETITIONS,
                scalars=" ".join(plan.scalars),
                tables=" ".join(plan.tables),
            )
        )
        errors = Path(tmp) / "errors"
        errors.touch()
        run_env = {**env, "COMMUNITY": COMMUNITY, "ERRORS": str(errors)}
        with Meter(watch) as meter:
            cpu0, wall0 = children_cpu(), time.perf_counter()
            done = subprocess.run(
                ["xargs", "-P", str(parallel), "-n", "1", "sh", str(script)],
                input="\n".join(targets) + "\n",
                env=run_env,
                capture_output=True,
                text=True,
                timeout=max(120, len(targets) * 2),
            )
            wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
        lines = done.stdout.splitlines()
        failed = [line for line in lines if " FAIL" in line]
        reasons = Counter(_elide(line) for line in errors.read_text().splitlines() if line)
    missing = len(targets) - len(lines)
    if missing:
        reasons[f"no result (xargs exit {done.returncode}: {_elide(done.stderr)})"] += missing
    return {
        "devices": len(targets),
        "wall": wall,
        "cpu": cpu,
        "failed": len(failed) + missing,
        "reasons": dict(reasons.most_common(5)),
        **meter.figures(),
    }


def exporter_binary() -> str | None:
    """snmp_exporter's path, when it and curl (its scraper here) are installed."""
    if shutil.which("curl") is None:
        return None
    return next((found for b in EXPORTER if (found := shutil.which(b))), None)


def exporter_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    words = (done.stdout + done.stderr).split()
    return words[2].rstrip(",") if len(words) > 2 else "?"


class Exporter:
    """One snmp_exporter on a free loopback port; ``scrape_all`` times a pass."""

    def __init__(self, binary: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.proc = subprocess.Popen(
            [binary, f"--config.file={EXPORTER_CONFIG}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise SystemExit(f"snmp_exporter did not start (see {EXPORTER_CONFIG})")
            time.sleep(0.05)

    def stop(self) -> None:
        stop_processes([self.proc])

    def scrape_all(self, targets: list[str], parallel: int, watch: list[int]) -> dict[str, Any]:
        """One scrape per target, ``parallel`` at a time, by one ``curl --parallel``: C
        and keep-alive, so the scraper takes little CPU from the exporter's two cores."""
        with tempfile.TemporaryDirectory(prefix="weibao-bench-scrape-") as tmp:
            self._curl(Path(tmp), targets[:1], 1)  # connection and exporter warm
            with Meter(watch) as meter:
                kids0 = children_cpu()
                cpu0, wall0 = process_cpu([self.proc.pid]), time.perf_counter()
                codes = self._curl(Path(tmp), targets, parallel)
                wall, cpu = time.perf_counter() - wall0, process_cpu([self.proc.pid]) - cpu0
                scraper = children_cpu() - kids0
            reasons: Counter[str] = Counter()
            pdus: list[int] = []
            for i in range(len(targets)):
                body = (Path(tmp) / str(i)).read_text(errors="replace")
                code = codes.get(str(Path(tmp) / str(i)), "no result")
                found = PDU_HINT.search(body)
                if code == "200" and found:
                    pdus.append(int(found.group(1)))
                else:
                    last = (body.strip().splitlines() or [""])[-1]
                    last = last.split("variableLabels: []}: ", 1)[-1]  # the Desc is noise
                    reasons[f"HTTP {code}: {_elide(last)}"] += 1
        return {
            "devices": len(targets),
            "wall": wall,
            "cpu": cpu,
            "failed": sum(reasons.values()),
            "reasons": dict(reasons.most_common(5)),
            "values": sum(pdus) / len(pdus) if pdus else None,
            "scraper_cpu": scraper,  # curl: not the exporter's, not counted
            **meter.figures(),
        }

    def _curl(self, tmp: Path, targets: list[str], parallel: int) -> dict[str, str]:
        """Scrape into ``tmp/<index>``; the HTTP status of each output file."""
        config = tmp / "curl.conf"
        config.write_text(
            "".join(
                f'url = "http://127.0.0.1:{self.port}/snmp?module={MODULE}&target={t}"\n'
                f'output = "{tmp / str(i)}"\n'
                for i, t in enumerate(targets)
            )
        )
        done = subprocess.run(
            ["curl", "--silent", "--parallel", "--parallel-immediate",
             "--parallel-max", str(parallel), "--max-time", str(SCRAPE_TIMEOUT),
             "--header", f"X-Prometheus-Scrape-Timeout-Seconds: {SCRAPE_TIMEOUT}",
             "--write-out", "%{http_code} %{filename_effective}\\n", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=SCRAPE_TIMEOUT * (len(targets) // parallel + 2),
        )  # fmt: skip
        codes = {}
        for line in done.stdout.splitlines():
            code, _, name = line.partition(" ")
            codes[name] = code
        return codes


PDU_HINT = re.compile(r"^snmp_scrape_pdus_returned (\d+)", re.MULTILINE)


def run_openssh(
    target: dict[str, Any],
    commands: list[str],
    count: int,
    parallel: int,
    kex: str | None,
    watch: list[int],
) -> dict[str, Any]:
    """``count`` connections of OpenSSH's client, each running every command in one
    shell (the exit status of each printed after it), ``parallel`` at a time."""
    script = "; ".join(f'{c}; echo "@@ $?"' for c in commands)
    options = [
        "-F", "/dev/null", "-T", "-i", str(target["key"]), "-p", str(target["port"]),
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
        "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={target['known_hosts']}",
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
    ]  # fmt: skip
    if kex:
        options += ["-o", f"KexAlgorithms={kex}"]
    argv = ["ssh", *options, f"{target['user']}@127.0.0.1", script]
    # xargs runs `sh -c '<ssh ...> && echo ok || echo FAIL $?' _ N`: N only counts.
    line = shlex.join(argv) + " >/dev/null 2>&1 && echo ok || echo FAIL $?"
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    with Meter(watch) as meter:
        cpu0, wall0 = children_cpu(), time.perf_counter()
        done = subprocess.run(
            ["xargs", "-P", str(parallel), "-n", "1", "sh", "-c", line, "_"],
            input="\n".join(str(i) for i in range(count)) + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=max(120, count * 5),
        )
        wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    lines = done.stdout.splitlines()
    failed = [out for out in lines if out != "ok"] + [""] * (count - len(lines))
    return {
        "devices": count,
        "wall": wall,
        "cpu": cpu,
        "failed": len(failed),
        "reasons": dict(Counter(f"ssh exit: {f or 'no result'}" for f in failed)),
        "commands": len(commands),
        **meter.figures(),
    }
