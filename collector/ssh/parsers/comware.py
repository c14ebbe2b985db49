"""Parsers for H3C Comware ``display`` commands (H3C, HP and HPE Comware 5 and 7 switches).

Comware 5 (e.g. S5500, A5500) and Comware 7 (S5130, S5560, S6520, S12500) print the same
facts in different layouts; each parser reads both. Names follow the SNMP ``h3c-comware``
profile: interfaces by their full name (``GigabitEthernet1/0/1``, as ifName; the brief
listing's ``GE1/0/1`` is expanded), transceiver sensors as ``<interface> transceiver``.
Absent fans and power supplies give no sample: "not installed" is not "failed".
"""

from __future__ import annotations

import re

from collector.ssh.parsers import Reading, devlog, sample
from weibao.observation import Sample

_VERSION = re.compile(r"Comware Software,? Version ([\d.]+(?:,? Release \w+)?)")
_UPTIME = re.compile(r"^(?:H3C|HPE|HP)\s+(.+?)\s+uptime is (.+)$", re.MULTILINE)
_MODEL = re.compile(r"^(\S+(?: [A-Z]{2}\b)?)")  # "A5500-24G EI Switch" -> "A5500-24G EI"
_DURATION = re.compile(r"(\d+)\s+(year|week|day|hour|minute|second)s?", re.IGNORECASE)
_SECONDS = {"year": 365 * 86400, "week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60}
_OK = frozenset({"normal", "ok"})
_ABSENT = frozenset({"absent", "not-install", "notinstall", "not", "unsupport"})


def duration_seconds(text: str) -> float | None:
    """``2 weeks, 3 days, 4 hours, 5 minutes`` in seconds (None when no unit is found)."""
    parts = _DURATION.findall(text)
    if not parts:
        return None
    return float(sum(int(n) * _SECONDS.get(unit.lower(), 1) for n, unit in parts))


def parse_version(text: str) -> Reading:
    """``display version``: meta ``model`` and ``version``, and ``uptime_seconds``."""
    facts: dict[str, str] = {}
    samples: list[Sample] = []
    version = _VERSION.search(text)
    if version:
        facts["version"] = version.group(1)
    uptime = _UPTIME.search(text)
    if uptime:
        model = _MODEL.match(uptime.group(1))
        if model:
            facts["model"] = model.group(1)
        seconds = duration_seconds(uptime.group(2))
        if seconds is not None:
            samples.append(sample("uptime_seconds", seconds))
    return Reading(samples, facts)


_CPU = re.compile(r"(\d+(?:\.\d+)?)%\s+in last 1 minute")


def parse_cpu_usage(text: str) -> Reading:
    """``display cpu-usage``: the busiest CPU's one-minute figure (as the SNMP profile's max)."""
    values = [float(v) for v in _CPU.findall(text)]
    return Reading([sample("cpu_usage_ratio", max(values) / 100)]) if values else Reading()


_USED_RATE = re.compile(r"Used Rate\s*:\s*(\d+(?:\.\d+)?)%")


def parse_memory(text: str) -> Reading:
    """``display memory``: used share without buffers and cache, the fullest board's.

    Comware 7 prints a ``Mem:`` table per slot (KB) and a ``-/+ Buffers/Cache:`` line;
    Comware 5 one ``Used Rate: N%``.
    """
    ratios: list[float] = []
    total: int | None = None
    for line in text.splitlines():
        cells = line.split()
        if cells[:1] == ["Mem:"] and len(cells) >= 3 and cells[1].isdigit():
            total = int(cells[1])
            ratios.append(int(cells[2]) / total if total else 0.0)
        elif line.strip().startswith("-/+ Buffers/Cache:") and total and ratios:
            used = line.split(":", 1)[1].split()
            if used and used[0].isdigit():
                ratios[-1] = int(used[0]) / total
    ratios += [float(v) / 100 for v in _USED_RATE.findall(text)]
    return Reading([sample("memory_usage_ratio", max(ratios))]) if ratios else Reading()


_SLOT = re.compile(r"^\s*(?:Slot|Unit)\s+(\d+)\s*:?\s*$", re.IGNORECASE)
_FAN = re.compile(r"^\s*Fan\s+(\d+)\s*:?\s*(?:State\s*:\s*(\S+))?", re.IGNORECASE)
_STATE = re.compile(r"^\s*State\s*:\s*(\S+)", re.IGNORECASE)


def parse_fan(text: str) -> Reading:
    """``display fan``: ``fan_ok{fan="SLOT/FAN"}``.

    Comware 7: ``Slot 1:`` / ``Fan 1:`` / ``State    : Normal`` on separate lines;
    Comware 5: ``Slot 1`` / ``FAN   1 State: Normal``.
    """
    samples: list[Sample] = []
    slot, fan = "1", ""
    for line in text.splitlines():
        if found := _SLOT.match(line):
            slot = found.group(1)
        elif found := _FAN.match(line):
            fan = found.group(1)
            if found.group(2):
                _add_state(samples, "fan_ok", "fan", f"{slot}/{fan}", found.group(2))
                fan = ""
        elif (found := _STATE.match(line)) and fan:
            _add_state(samples, "fan_ok", "fan", f"{slot}/{fan}", found.group(1))
            fan = ""
    return Reading(samples)


_POWER_LINE = re.compile(r"^\s*Power\s+(\d+)\s+State\s*:\s*(\S+)", re.IGNORECASE)


def parse_power(text: str) -> Reading:
    """``display power``: ``power_supply_ok{psu="SLOT/ID"}``.

    Comware 7: a ``PowerID State Mode ...`` table per slot; Comware 5:
    ``Power    1 State   : Normal`` lines.
    """
    samples: list[Sample] = []
    slot = "1"
    in_table = False
    for line in text.splitlines():
        cells = line.split()
        if found := _SLOT.match(line):
            slot, in_table = found.group(1), False
        elif cells[:2] == ["PowerID", "State"]:
            in_table = True
        elif found := _POWER_LINE.match(line):
            _add_state(samples, "power_supply_ok", "psu", f"{slot}/{found.group(1)}", found[2])
        elif in_table and len(cells) >= 2 and cells[0].isdigit():
            _add_state(samples, "power_supply_ok", "psu", f"{slot}/{cells[0]}", cells[1])
    return Reading(samples)


def _add_state(samples: list[Sample], name: str, label: str, where: str, state: str) -> None:
    word = state.strip().rstrip(".").lower()
    if word in _ABSENT:
        return
    samples.append(sample(name, float(word in _OK), **{label: where}))


# Comware 7: Slot Sensor Temperature Lower Warning Alarm Shutdown ("hotspot 1" is one cell)
_TEMP_7 = re.compile(
    r"^\s*(?P<slot>\d+)\s+(?P<sensor>[A-Za-z][\w-]*(?: \d+)?)\s+(?P<temp>-?\d+)\s+"
    r"(?P<lower>-?\d+|NA)\s+(?P<warning>-?\d+|NA)\s+(?P<alarm>-?\d+|NA)(?:\s+(?P<shut>-?\d+|NA))?\s*$"
)
# Comware 5: SlotNo Temperature Lower-limit Upper-limit
_TEMP_5 = re.compile(
    r"^\s*(?P<slot>\d+)\s+(?P<temp>-?\d+)\s+(?P<lower>-?\d+)\s+(?P<upper>-?\d+)\s*$"
)


def parse_environment(text: str) -> Reading:
    """``display environment``: ``temperature_celsius`` and, against the device's own
    limits, ``temperature_over_threshold`` (1 at its warning limit, 2 at its alarm limit;
    Comware 5's single upper limit counts as a warning)."""
    samples: list[Sample] = []
    for line in text.splitlines():
        if found := _TEMP_7.match(line):
            sensor = f"{found['slot']}/{found['sensor']}"
            temp = float(found["temp"])
            alarm, warning = _limit(found["alarm"]), _limit(found["warning"])
            level = 2 if alarm is not None and temp >= alarm else 0
            if not level and warning is not None and temp >= warning:
                level = 1
        elif found := _TEMP_5.match(line):
            sensor = f"{found['slot']}/board"
            temp = float(found["temp"])
            level = int(temp >= float(found["upper"]))
        else:
            continue
        samples.append(sample("temperature_celsius", temp, sensor=sensor))
        samples.append(sample("temperature_over_threshold", float(level), sensor=sensor))
    return Reading(samples)


def _limit(cell: str | None) -> float | None:
    return None if cell is None or cell == "NA" else float(cell)


# Abbreviations of `display interface brief`, to the full names ifName (and every other
# display command) uses. Longest first: "XGE" before "GE".
_ABBREVIATIONS = (
    ("BAGG", "Bridge-Aggregation"),
    ("RAGG", "Route-Aggregation"),
    ("InLoop", "InLoopBack"),
    ("Loop", "LoopBack"),
    ("Vlan", "Vlan-interface"),
    ("HGE", "HundredGigE"),
    ("FGE", "FortyGigE"),
    ("WGE", "Twenty-FiveGigE"),
    ("XGE", "Ten-GigabitEthernet"),
    ("MGE", "M-GigabitEthernet"),
    ("GE", "GigabitEthernet"),
    ("Eth", "Ethernet"),
    ("Tun", "Tunnel"),
)
_SHORT = re.compile(r"^([A-Za-z-]+?)(\d.*)$")


def full_interface_name(name: str) -> str:
    """``GE1/0/1`` -> ``GigabitEthernet1/0/1``; names already full are kept."""
    found = _SHORT.match(name)
    if found is None:
        return name
    for short, full in _ABBREVIATIONS:
        if found.group(1) == short:
            return full + found.group(2)
    return name


def parse_interface_brief(text: str) -> Reading:
    """``display interface brief``: ``interface_up`` (Link UP) and ``interface_admin_up``
    (not ``ADM``), both modes' tables; a description the user wrote becomes ``alias``
    (Comware 7 prints one; "<name> Interface" is the default, not a description)."""
    samples: list[Sample] = []
    description_at: int | None = None
    in_table = False
    for line in text.splitlines():
        cells = line.split()
        if cells[:2] == ["Interface", "Link"]:
            in_table = True
            description_at = line.find("Description") if "Description" in cells else None
            continue
        if not in_table or len(cells) < 2:
            in_table = in_table and bool(cells)
            continue
        link = cells[1].upper()
        if link not in ("UP", "DOWN", "ADM", "STBY"):
            continue
        name = full_interface_name(cells[0])
        labels = {"interface": name}
        alias = line[description_at:].strip() if description_at is not None else ""
        if alias and alias.casefold() not in (f"{name} interface".casefold(), name.casefold()):
            labels["alias"] = alias
        samples.append(sample("interface_up", float(link == "UP"), **labels))
        samples.append(sample("interface_admin_up", float(link != "ADM"), **labels))
    return Reading(samples)


_DIAGNOSIS = re.compile(r"^(\S+) transceiver diagnostic information:", re.MULTILINE)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def parse_transceiver_diagnosis(text: str) -> Reading:
    """``display transceiver diagnosis interface``: receive and transmit power, the
    module's temperature, and both against the module's own alarm thresholds.

    Per interface: a ``Current diagnostic parameters`` row (Temp, Voltage, Bias, RX power,
    TX power) and ``High`` / ``Low`` rows of ``Alarm thresholds``. A module without
    diagnostics ("does not support this function") gives nothing.
    """
    samples: list[Sample] = []
    blocks = _DIAGNOSIS.split(text)
    for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
        current: list[float] | None = None
        high: list[float] | None = None
        low: list[float] | None = None
        for line in body.splitlines():
            cells = line.split()
            if cells and cells[0] in ("High", "Low") and _numbers(cells[1:]) is not None:
                if cells[0] == "High":
                    high = _numbers(cells[1:])
                else:
                    low = _numbers(cells[1:])
            elif current is None and cells and _numbers(cells) is not None:
                current = _numbers(cells)
        if current is None or len(current) < 5:
            continue
        temp, _, _, rx, tx = current[:5]
        sensor = f"{name} transceiver"
        samples.append(sample("optic_rx_power_dbm", rx, interface=name))
        samples.append(sample("optic_tx_power_dbm", tx, interface=name))
        if low is not None and len(low) >= 5:
            samples.append(sample("optic_rx_power_low", float(rx < low[3]), interface=name))
        samples.append(sample("temperature_celsius", temp, sensor=sensor))
        if high is not None and len(high) >= 5:
            level = 2.0 if temp >= high[0] else 0.0
            samples.append(sample("temperature_over_threshold", level, sensor=sensor))
    return Reading(samples)


def _numbers(cells: list[str]) -> list[float] | None:
    if not cells or not all(_NUMBER.match(c) for c in cells):
        return None
    return [float(c) for c in cells]


# %Nov 21 10:20:31:123 2026 SYSNAME MODULE/LEVEL/DIGEST: text  (Comware 5 and 7)
_ENTRY = re.compile(r"^%?\s*\w{3}\s+\d+\s+\d\d:\d\d:\d\d\S*\s+\d{4}\s+\S+\s+[\w-]+/(\d)/")


def log_entries(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if _ENTRY.match(line)]


def parse_logbuffer(text: str, seen: str | None) -> Reading:
    """``display logbuffer``: new entries of level 0-3 (emergency to error)."""

    def severe(entry: str) -> bool:
        found = _ENTRY.match(entry)
        return found is not None and int(found.group(1)) <= 3

    return devlog.log_reading(log_entries(text), seen, severe)
