"""The machine the figures were taken on, the tables, the ratios and the issue's targets."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
Row = dict[str, Any]


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _field(path: Path, key: str, separator: str) -> str | None:
    """The value of the first ``key`` line of a ``key<separator>value`` file."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, sep, value = line.partition(separator)
        if sep and name.strip() == key:
            return value.strip().strip('"')
    return None


def describe_machine(exporter: str | None) -> dict[str, str]:
    cpu = _field(Path("/proc/cpuinfo"), "model name", ":") or platform.processor() or "?"
    os_name = _field(Path("/etc/os-release"), "PRETTY_NAME", "=") or platform.platform()
    netsnmp = _run(["snmpget", "--version"]).replace("NET-SNMP version:", "").strip()
    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    if _run(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " with uncommitted changes"
    return {
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "os": os_name,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "pysnmp": _version("pysnmp"),
        "paramiko": _version("paramiko"),
        "net-snmp": netsnmp or "?",
        "snmp_exporter": exporter or "not installed",
        "openssh": _run(["ssh", "-V"]).split(",")[0] or "not installed",
        "weibao": commit or "?",
        "load average at start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def per_device(row: Row) -> Row:
    """Derived figures of one pass: rates and costs per device (or per inspection)."""
    n = max(int(row["devices"]), 1)
    out = dict(row)
    out["per_s"] = row["devices"] / row["wall"] if row["wall"] > 0 else 0.0
    out["cpu_ms"] = row["cpu"] / n * 1000
    out["wall_ms"] = row["wall"] / n * 1000
    out["peer_cpu_ms"] = row.get("peer_cpu", 0.0) / n * 1000
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, so the output pastes into the READMEs as it is."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]  # fmt: skip
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return "\n".join(lines)


def snmp_table(rows: list[Row]) -> str:
    body = [
        [str(r["concurrency"]), r["client"], str(r["devices"]), _fmt(r["per_s"]),
         _fmt(r["cpu_ms"], 2), _fmt(r["peer_cpu_ms"], 2), _fmt(r.get("values"), 0),
         str(r["failed"]), str(r.get("udp_drops", "-"))]
        for r in rows
    ]  # fmt: skip
    return table(
        ["concurrency", "client", "devices", "devices/s", "CPU ms/device",
         "agents' CPU ms/device", "values/device", "failed", "UDP drops"],
        body,
    )  # fmt: skip


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def ratio_rows(rows: list[Row]) -> list[Row]:
    """weibao against each peer at each concurrency: speed (higher is better for weibao)
    and CPU per device (lower is better)."""
    out = []
    for level in sorted({r["concurrency"] for r in rows}):
        at = {r["client"]: r for r in rows if r["concurrency"] == level}
        ours = at.get("weibao")
        if ours is None:
            continue
        for peer in ("net-snmp CLI", "snmp_exporter"):
            theirs = at.get(peer)
            if theirs is None:
                continue
            out.append(
                {
                    "concurrency": level,
                    "peer": peer,
                    "speed": _ratio(ours["per_s"], theirs["per_s"]),
                    "cpu": _ratio(ours["cpu_ms"], theirs["cpu_ms"]),
                }
            )
    return out


def ratio_table(ratios: list[Row]) -> str:
    body = [[str(r["concurrency"]), r["peer"], _fmt(r["speed"], 2), _fmt(r["cpu"], 2)]
            for r in ratios]  # fmt: skip
    return table(
        ["concurrency", "weibao against", "devices/s ratio (>1: faster)",
         "CPU/device ratio (<1: cheaper)"],
        body,
    )  # fmt: skip


def inflight_table(rows: list[Row]) -> str:
    body = []
    for r in rows:
        other = sum(r.get("other", {}).values()) if "other" in r else r.get("failed", 0)
        body.append(
            [r["what"], str(r["sent"]), str(r["answered"]), str(r["timed_out"]), str(other),
             _fmt(r["wall"], 2), _ms(r.get("latency_max")),
             str(r.get("udp_drops", "-"))]
        )  # fmt: skip
    return table(
        ["what (one weibao process)", "sent", "answered", "timed out (lost)", "other errors",
         "wall s", "slowest answer ms", "UDP drops"],
        body,
    )  # fmt: skip


def ssh_table(rows: list[Row]) -> str:
    body = [
        [str(r["concurrency"]), r["client"], str(r["devices"]), _fmt(r["per_s"], 1),
         _fmt(r["wall_ms"], 0), _fmt(r["cpu_ms"], 1), _fmt(r["peer_cpu_ms"], 1),
         _fmt(r.get("commands"), 0), str(r.get("channels", "-")), str(r["failed"])]
        for r in rows
    ]  # fmt: skip
    return table(
        ["concurrency", "client", "inspections", "inspections/s", "wall ms/inspection",
         "client CPU ms/inspection", "sshd CPU ms/inspection", "commands", "channels",
         "failed"],
        body,
    )  # fmt: skip


SSHD_NOISE = 0.15  # between passes of one run the machine varies by 10-30 %


def targets(snmp: list[Row], inflight: list[Row], ssh: list[Row]) -> list[Row]:
    """The issue's targets, each a pass/fail line with the figures it was judged on."""
    out: list[Row] = []
    levels = sorted({r["concurrency"] for r in snmp})
    top = levels[-1] if levels else None
    at_top = {r["client"]: r for r in snmp if r["concurrency"] == top}
    ours, cli = at_top.get("weibao"), at_top.get("net-snmp CLI")
    if ours is not None:
        out.append(_target(f"no failed polls at concurrency {top}", ours["failed"] == 0,
                           f"{ours['failed']} of {ours['devices']} failed"))  # fmt: skip
    if ours is not None and cli is not None:
        out.append(_target(
            f"devices/s at {top} >= net-snmp CLI xargs -P {top}",
            ours["per_s"] >= cli["per_s"],
            f"{ours['per_s']:.1f} vs {cli['per_s']:.1f} devices/s",
        ))  # fmt: skip
    cpu = [r for r in ratio_rows(snmp) if r["peer"] == "snmp_exporter" and r["cpu"] is not None]
    if cpu:
        worst = max(cpu, key=lambda r: r["cpu"])
        out.append(_target(
            "CPU/device <= 3x snmp_exporter (worst concurrency)",
            worst["cpu"] <= 3,
            f"{worst['cpu']:.2f}x at concurrency {worst['concurrency']}",
        ))  # fmt: skip
    else:
        out.append({"target": "CPU/device <= 3x snmp_exporter", "pass": None,
                    "detail": "not measured (snmp_exporter not installed)"})  # fmt: skip
    burst = next((r for r in inflight if r["what"].endswith("GETs at once")), None)
    if burst is not None:
        lost = burst["sent"] - burst["answered"]
        out.append(_target(f"{burst['in_flight']:,} requests in flight, no losses", lost == 0,
                           f"{burst['answered']} of {burst['sent']} answered"))  # fmt: skip
    for level in sorted({r["concurrency"] for r in ssh}):
        at = {r["client"]: r for r in ssh if r["concurrency"] == level}
        ours, theirs = at.get("weibao"), at.get("OpenSSH")
        if ours is None or theirs is None:
            continue
        for what, key in (("wall", "wall_ms"), ("CPU", "cpu_ms")):
            out.append(_target(
                f"SSH {what} per inspection <= OpenSSH at concurrency {level}",
                ours[key] <= theirs[key] and ours["failed"] == 0,
                f"{ours[key]:.1f} vs {theirs[key]:.1f} ms",
            ))  # fmt: skip
        # The customer's side: sshd's work on our inspection against OpenSSH running the
        # same commands, with its default key exchange and with ours (sntrup761 costs sshd
        # more than curve25519), within the machine's noise.
        for label in ("OpenSSH", "OpenSSH, curve25519"):
            same = at.get(label)
            if same is None or not ours.get("peer_cpu_ms") or not same.get("peer_cpu_ms"):
                continue
            ratio = ours["peer_cpu_ms"] / same["peer_cpu_ms"]
            out.append(_target(
                f"sshd CPU per inspection <= {label}'s +{SSHD_NOISE:.0%} at concurrency {level}",
                ratio <= 1 + SSHD_NOISE,
                f"{ours['peer_cpu_ms']:.1f} vs {same['peer_cpu_ms']:.1f} ms ({ratio:.2f}x)",
            ))  # fmt: skip
    return out


def _target(name: str, passed: bool, detail: str) -> Row:
    return {"target": name, "pass": passed, "detail": detail}


def targets_text(rows: list[Row]) -> str:
    marks = {True: "PASS", False: "FAIL", None: "n/a "}
    return "\n".join(f"{marks[r['pass']]}  {r['target']}: {r['detail']}" for r in rows)


def reasons_text(rows: list[Row]) -> str:
    lines = []
    for r in rows:
        for reason, count in r.get("reasons", {}).items():
            lines.append(f"  {r['client']} at {r['concurrency']}: {count} x {reason}")
    return "\n".join(lines)
