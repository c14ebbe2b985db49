"""Parsers for Huawei VRP ``display`` commands (S-series switches, AR routers, CE).

VRP prints tables under a header line; the columns differ between product lines and
versions, so rows are read by header name (``Status``, ``State``, ``Current(C)``), not by
position. Absent modules ("Absent") give no sample: "not installed" is not "failed".
"""

from __future__ import annotations

import re

from collector.ssh.parsers import Reading, sample
from weibao.observation import Sample

_CPU = re.compile(r"^CPU Usage\s*:\s*(\d+(?:\.\d+)?)%", re.MULTILINE)
_MEMORY = re.compile(r"Memory Using Percentage Is:\s*(\d+(?:\.\d+)?)%")
_MODEL = re.compile(r"^(\S+)'s Device status:", re.MULTILINE)
_OK_STATES = frozenset({"normal", "supply", "ok"})


def parse_cpu_usage(text: str) -> Reading:
    match = _CPU.search(text)
    return Reading([sample("cpu_usage_ratio", float(match.group(1)) / 100)]) if match else Reading()


def parse_memory_usage(text: str) -> Reading:
    match = _MEMORY.search(text)
    if match is None:
        return Reading()
    return Reading([sample("memory_usage_ratio", float(match.group(1)) / 100)])


def parse_device(text: str) -> Reading:
    """``display device``: the model, for meta (fans and power come from their own commands)."""
    match = _MODEL.search(text)
    return Reading(facts={"model": match.group(1)}) if match else Reading()


def _table(text: str, key: str) -> list[dict[str, str]]:
    """Rows of the first table whose header line holds the column ``key``."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        header = line.split()
        if key not in header:
            continue
        rows = []
        for row in lines[at + 1 :]:
            cells = row.split()
            # Separators, continuation headers ("Resume(C)") and blank lines are not data.
            if len(cells) < len(header) or set(row.strip()) <= {"-"}:
                continue
            rows.append(dict(zip(header, cells, strict=False)))
        return rows
    return []


def _present(row: dict[str, str]) -> bool:
    return row.get("Online", "Present").lower() != "absent"


def parse_fan(text: str) -> Reading:
    samples = [
        sample("fan_ok", float(row["Status"].lower() in _OK_STATES), fan=_slot(row, "FanID"))
        for row in _table(text, "Status")
        if _present(row) and "FanID" in row
    ]
    return Reading(samples)


def parse_power(text: str) -> Reading:
    rows = _table(text, "PowerID")
    samples = []
    for row in rows:
        state = row.get("State", row.get("Status", ""))
        if _present(row):
            ok = float(state.lower() in _OK_STATES)
            samples.append(sample("power_supply_ok", ok, psu=_slot(row, "PowerID")))
    return Reading(samples)


def parse_temperature(text: str) -> Reading:
    samples = []
    for row in _table(text, "Current(C)"):
        try:
            value = float(row["Current(C)"])
        except ValueError:
            continue
        sensor = f"{row.get('Slot', '?')}/{row.get('Sensor', '?')}"
        samples.append(sample("temperature_celsius", value, sensor=sensor))
    return Reading(samples)


_PHY = re.compile(r"^(\*|\^)?(up|down)", re.IGNORECASE)


def parse_interface_brief(text: str) -> Reading:
    """``display interface brief``: interface_up, and interface_admin_up (``*down``)."""
    samples: list[Sample] = []
    seen = False
    for line in text.splitlines():
        cells = line.split()
        if cells[:2] == ["Interface", "PHY"]:
            seen = True
            continue
        if not seen or len(cells) < 3:
            continue
        match = _PHY.match(cells[1])
        if match is None:
            continue
        name = cells[0]
        up = match.group(2).lower() == "up"
        samples.append(sample("interface_up", float(up), interface=name))
        samples.append(sample("interface_admin_up", float(match.group(1) != "*"), interface=name))
    return Reading(samples)


def _slot(row: dict[str, str], key: str) -> str:
    return f"{row.get('Slot', '?')}/{row.get(key, '?')}"
