"""Readings that need a program: failed systemd units, clock offset, SMART health.

Each answers a :class:`Probed`: a value, or ``None`` with the reason it is unknown
("systemd is not running on this machine"), because a missing systemd is not zero failed
units and a missing chronyd is not a clock in sync. :class:`Probes` caches the answers
for a while, so a Prometheus scraping every 15 s does not fork systemctl every 15 s.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from agent.commands import CommandUnavailable, Run, Which, find_program, run_command
from agent.snapshot import ClockState

T = TypeVar("T")
FAILED_UNITS = ("systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager")
CHRONY = ("chronyc", "-c", "tracking")
# `timedatectl show-timesync` prints the NTP timestamps to the second only, too coarse for
# an offset; `timesync-status` prints the offset timesyncd computed from them.
TIMESYNC_STATUS = ("timedatectl", "timesync-status")
NTP_SYNCHRONIZED = ("timedatectl", "show", "--property=NTPSynchronized", "--value")
COMMAND_TIMEOUT = 10.0
SMART_TIMEOUT = 20.0


@dataclass(frozen=True)
class Probed(Generic[T]):
    value: T | None
    unknown: str | None = None


def probe_failed_units(run: Run, which: Which, run_root: Path) -> Probed[tuple[str, ...]]:
    """Names of the units in the failed state."""
    # The test sd_booted() makes: systemctl is often installed where systemd is not PID 1.
    if not (run_root / "systemd" / "system").is_dir():
        return Probed(None, "systemd is not running on this machine")
    if which("systemctl") is None:
        return Probed(None, "systemctl is not installed")
    try:
        out = run(FAILED_UNITS, COMMAND_TIMEOUT)
    except CommandUnavailable as exc:
        return Probed(None, str(exc))
    if out.returncode != 0:
        return Probed(None, f"systemctl list-units exited with status {out.returncode}")
    return Probed(tuple(line.split()[0] for line in out.stdout.splitlines() if line.strip()))


def parse_chronyc_tracking(csv_line: str) -> ClockState:
    """``chronyc -c tracking``: field 5 is the correction chronyd still has to apply,
    positive when the local clock is slow, so the local-minus-reference offset is its
    negation; field 14 is the leap status."""
    fields = csv_line.strip().split(",")
    if len(fields) < 14:
        raise ValueError(f"chronyc -c tracking printed {len(fields)} fields, expected 14")
    synchronized = fields[13] != "Not synchronised" and fields[0] != "00000000"
    offset = -float(fields[4]) if synchronized else None
    return ClockState(offset_seconds=offset, synchronized=synchronized, source="chrony")


_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(month|min|ms|us|µs|ns|y|w|d|h|s)")
_UNITS = {
    "y": 31_557_600.0,
    "month": 2_629_800.0,
    "w": 604_800.0,
    "d": 86_400.0,
    "h": 3_600.0,
    "min": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}


def parse_timespan(text: str) -> float:
    """systemd's ``+1min 2.5s`` or ``-529us`` in seconds."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    parts = _SPAN.findall(text)
    if not parts:
        raise ValueError(f"not a systemd time span: {text!r}")
    return sign * sum(float(n) * _UNITS[unit] for n, unit in parts)


def parse_timesync_status(text: str) -> float | None:
    """Local minus reference from ``timedatectl timesync-status``; None before any reply.

    timesyncd prints the NTP offset, positive when the server is ahead of us, so the
    local-minus-reference offset is its negation.
    """
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Offset":
            return -parse_timespan(value)
    return None


def probe_clock(run: Run, which: Which, run_root: Path) -> Probed[ClockState]:
    reasons = []
    if which("chronyc") is not None:
        try:
            out = run(CHRONY, COMMAND_TIMEOUT)
            if out.returncode == 0 and out.stdout.strip():
                return Probed(parse_chronyc_tracking(out.stdout.splitlines()[0]))
            reasons.append(f"chronyc exited with status {out.returncode}")
        except (CommandUnavailable, ValueError) as exc:
            reasons.append(str(exc))
    if (run_root / "systemd" / "system").is_dir() and which("timedatectl") is not None:
        try:
            synced = run(NTP_SYNCHRONIZED, COMMAND_TIMEOUT)
            status = run(TIMESYNC_STATUS, COMMAND_TIMEOUT)
            offset = parse_timesync_status(status.stdout) if status.returncode == 0 else None
            if synced.returncode == 0 and synced.stdout.strip() in ("yes", "no"):
                ok = synced.stdout.strip() == "yes"
                return Probed(ClockState(offset if ok else None, ok, "timesyncd"))
            reasons.append(f"timedatectl exited with status {synced.returncode}")
        except (CommandUnavailable, ValueError) as exc:
            reasons.append(str(exc))
    if not reasons:
        return Probed(None, "neither chrony nor systemd-timesyncd is here to tell")
    return Probed(None, "; ".join(reasons))


_SMART_VERDICT = re.compile(
    r"(?:overall-health self-assessment test result|SMART Health Status):\s*(\S+)"
)
_DISK_FAILING = 0x08  # smartctl exit status bit 3: "SMART status check returned DISK FAILING"
_COULD_NOT_ASK = 0x07  # bits 0-2: bad command line, device open failed, SMART command failed


def parse_smartctl_health(returncode: int, text: str) -> Probed[bool]:
    if returncode & _DISK_FAILING:
        return Probed(False)
    verdict = _SMART_VERDICT.search(text)
    if verdict is not None:
        return Probed(verdict.group(1).upper() in ("PASSED", "OK"))
    if returncode & _COULD_NOT_ASK:
        why = next(
            (
                line.strip()
                for line in text.splitlines()
                if "failed" in line or "denied" in line or "STANDBY" in line
            ),
            f"smartctl exited with status {returncode}",
        )
        return Probed(None, why)
    return Probed(None, "smartctl gave no health verdict (no SMART on this device)")


def probe_smart(run: Run, which: Which, disk: str) -> Probed[bool]:
    if which("smartctl") is None:
        return Probed(None, "smartctl is not installed")
    try:
        # -n standby: asking a sleeping disk would spin it up, on the customer's time.
        out = run(("smartctl", "-H", "-n", "standby", f"/dev/{disk}"), SMART_TIMEOUT)
    except CommandUnavailable as exc:
        return Probed(None, str(exc))
    return parse_smartctl_health(out.returncode, out.stdout)


class Probes:
    """The command-based readings, cached for ``ttl`` seconds; safe across threads."""

    def __init__(
        self,
        run: Run = run_command,
        which: Which = find_program,
        run_root: str | Path = "/run",
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = run
        self._which = which
        self._run_root = Path(run_root)
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Probed[object]]] = {}
        self._smart: tuple[tuple[str, Probed[bool]], ...] = ()

    def _cached(self, key: str, make: Callable[[], Probed[T]]) -> Probed[T]:
        with self._lock:
            now = self._monotonic()
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]  # type: ignore[return-value]
            value = make()
            self._cache[key] = (now + self._ttl, value)  # type: ignore[assignment]
            return value

    def failed_units(self) -> Probed[tuple[str, ...]]:
        return self._cached(
            "units", lambda: probe_failed_units(self._run, self._which, self._run_root)
        )

    def clock(self) -> Probed[ClockState]:
        return self._cached("clock", lambda: probe_clock(self._run, self._which, self._run_root))

    def smart(self, disks: Sequence[str]) -> tuple[tuple[str, Probed[bool]], ...]:
        """Ask every disk now (full inspections only); ``last_smart`` keeps the answers."""
        answers = tuple((disk, probe_smart(self._run, self._which, disk)) for disk in disks)
        with self._lock:
            self._smart = answers
        return answers

    def last_smart(self) -> tuple[tuple[str, Probed[bool]], ...]:
        with self._lock:
            return self._smart
