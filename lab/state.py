"""The lab's state directory (``var/lab`` under ``make run``): small JSON files.

- ``faults.json``: the faults switched on, with when. ``weibao lab fault`` writes it;
  the running lab re-reads it when it changes, so faults need no restart and no signal,
  and survive one.
- ``boot.json``: when each device "booted", and how often the lab started. Uptime counts
  from there on wall-clock time, so a restarted lab does not look like twelve rebooted
  devices to the rules; the start count is the agents' SNMPv3 engine boots.
- ``lab.json``: the running lab's pid and endpoints, for ``weibao lab status``; removed
  when the lab stops.

Every write goes to a temporary name and is renamed into place: a reader never sees half
a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STARTS = "_starts"  # in boot.json, beside the devices' boot times


@dataclass(frozen=True)
class Endpoint:
    device: str
    protocol: str  # "snmp" or "ssh"
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Running:
    pid: int
    started: str
    endpoints: list[Endpoint]


class StateError(ValueError):
    """A state file exists but cannot be read; the message names it."""


class LabState:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.faults_file = directory / "faults.json"
        self.boot_file = directory / "boot.json"
        self.lab_file = directory / "lab.json"

    def ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- faults --------------------------------------------------------------------------

    def faults(self) -> dict[str, str]:
        """Faults switched on: name -> ISO time it was switched on."""
        data = self._read(self.faults_file)
        on = data.get("on", {}) if isinstance(data, dict) else {}
        if not isinstance(on, dict):
            raise StateError(f"{self.faults_file}: 'on' must map fault names to times")
        return {str(k): str(v) for k, v in on.items()}

    def set_fault(self, name: str, on: bool, now: datetime) -> bool:
        """Switch one fault; returns whether anything changed."""
        faults = self.faults()
        if on == (name in faults):
            return False
        if on:
            faults[name] = now.astimezone(UTC).isoformat(timespec="seconds")
        else:
            del faults[name]
        self._write(self.faults_file, {"on": faults})
        return True

    def clear_faults(self) -> list[str]:
        faults = self.faults()
        if faults:
            self._write(self.faults_file, {"on": {}})
        return sorted(faults)

    def faults_stamp(self) -> tuple[int, int] | None:
        """Changes whenever faults.json is rewritten (cheap to poll)."""
        try:
            st = self.faults_file.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ino

    # -- boot times ----------------------------------------------------------------------

    def boot_times(self, uptimes: Mapping[str, timedelta], now: datetime) -> dict[str, float]:
        """Each device's boot time (epoch seconds): kept from earlier runs, else now - uptime."""
        data = self._read(self.boot_file)
        known = data if isinstance(data, dict) else {}
        boots: dict[str, float] = {}
        for name, uptime in uptimes.items():
            value = known.get(name)
            boots[name] = (
                float(value) if isinstance(value, int | float) else (now - uptime).timestamp()
            )
        updated = {**known, **boots}
        if updated != known:
            self._write(self.boot_file, updated)
        return boots

    def count_start(self) -> int:
        """How many times the lab has started here, this one included (snmpEngineBoots)."""
        data = self._read(self.boot_file)
        known = data if isinstance(data, dict) else {}
        starts = known.get(STARTS)
        count = (starts if isinstance(starts, int) else 0) + 1
        self._write(self.boot_file, {**known, STARTS: count})
        return count

    # -- the running lab -----------------------------------------------------------------

    def write_running(self, pid: int, started: datetime, endpoints: list[Endpoint]) -> None:
        payload = {
            "pid": pid,
            "started": started.astimezone(UTC).isoformat(timespec="seconds"),
            "endpoints": [asdict(e) for e in endpoints],
        }
        self._write(self.lab_file, payload)

    def running(self) -> Running | None:
        """The lab recorded as running, if its process is still alive."""
        data = self._read(self.lab_file)
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        pid = data["pid"]
        if not _alive(pid):
            return None
        endpoints = [Endpoint(**e) for e in data.get("endpoints", [])]
        return Running(pid, str(data.get("started", "")), endpoints)

    def clear_running(self, pid: int) -> None:
        """Remove lab.json if it is still this process's."""
        data = self._read(self.lab_file)
        if isinstance(data, dict) and data.get("pid") == pid:
            self.lab_file.unlink(missing_ok=True)

    # -- files ---------------------------------------------------------------------------

    def _read(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            return json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise StateError(
                f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); delete it to reset"
            ) from None

    def _write(self, path: Path, data: Any) -> None:
        self.ensure()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True
