"""Parsers for Cisco IOS and IOS-XE ``show`` commands (Catalyst switches, ISR routers).

Names follow the SNMP ``cisco-ios`` profile: interfaces as ifName prints them on IOS
(``Gi1/0/1``, as ``show interfaces description`` and ``show interfaces transceiver`` do),
memory from the ``Processor`` pool, CPU the one-minute figure. Where the device judges a
reading against its own limits (temperature GREEN/YELLOW/RED, transceiver flags ``+``,
``++``, ``-``, ``--``), that judgement becomes ``temperature_over_threshold`` and
``optic_rx_power_low``.
"""

from __future__ import annotations

import re

from collector.ssh.parsers import Reading, devlog, sample
from collector.ssh.parsers.comware import duration_seconds
from weibao.observation import Sample

_VERSION = re.compile(r"Cisco IOS(?: XE)? Software.*?Version ([^,\s]+)")
_UPTIME = re.compile(r"^(\S+) uptime is (.+)$", re.MULTILINE)
_MODEL_NUMBER = re.compile(r"^Model [Nn]umber\s*:\s*(\S+)", re.MULTILINE)
_PROCESSOR = re.compile(r"^[Cc]isco (\S+) \(.*\) processor", re.MULTILINE)
_SERIAL = re.compile(
    r"^(?:System [Ss]erial [Nn]umber\s*:|Processor board ID)\s*(\S+)", re.MULTILINE
)


def parse_version(text: str) -> Reading:
    """``show version``: meta ``model``, ``version``, ``serial``, ``hostname`` and
    ``uptime_seconds``."""
    facts: dict[str, str] = {}
    samples: list[Sample] = []
    if found := _VERSION.search(text):
        facts["version"] = found.group(1)
    if found := (_MODEL_NUMBER.search(text) or _PROCESSOR.search(text)):
        facts["model"] = found.group(1)
    if found := _SERIAL.search(text):
        facts["serial"] = found.group(1)
    if found := _UPTIME.search(text):
        facts["hostname"] = found.group(1)
        seconds = duration_seconds(found.group(2))
        if seconds is not None:
            samples.append(sample("uptime_seconds", seconds))
    return Reading(samples, facts)


_CPU = re.compile(r"one minute:\s*(\d+(?:\.\d+)?)%")


def parse_cpu(text: str) -> Reading:
    """``show processes cpu | include CPU utilization``: the one-minute figure."""
    found = _CPU.search(text)
    return Reading([sample("cpu_usage_ratio", float(found.group(1)) / 100)]) if found else Reading()


def parse_memory_statistics(text: str) -> Reading:
    """``show memory statistics``: Used(b) / Total(b) of the ``Processor`` pool."""
    header: list[str] | None = None
    for line in text.splitlines():
        cells = line.split()
        if "Total(b)" in cells and "Used(b)" in cells:
            header = cells
        elif header is not None and cells[:1] == ["Processor"]:
            # The pool's name comes first, in no header column.
            total = _int(cells, header.index("Total(b)") + 1)
            used = _int(cells, header.index("Used(b)") + 1)
            if total and used is not None:
                return Reading([sample("memory_usage_ratio", used / total)])
    return Reading()


def _int(cells: list[str], at: int) -> int | None:
    return int(cells[at]) if at < len(cells) and cells[at].isdigit() else None


_FAN_LINE = re.compile(r"^\s*(?:Switch\s+(\d+)\s+)?FAN\s*([\w-]*)\s+is\s+(.+?)\s*$", re.IGNORECASE)
_FAN_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+\d+\s+(OK|NOT PRESENT|[A-Z][A-Za-z ]*?)(?:\s{2,}|\s*$)")
_TEMP_ROW = re.compile(
    r"^\s*(?P<sensor>\S.*?)\s{2,}(?P<where>\d+)\s+(?P<state>GREEN|YELLOW|RED|\w+)\s+"
    r"(?P<value>-?\d+) Celsius"
)
_TEMP_VALUE = re.compile(r"Temperature Value\s*:\s*(-?\d+)")
_THRESHOLD = re.compile(r"(Yellow|Red) Threshold\s*:\s*(-?\d+)")
_LEVELS = {"GREEN": 0.0, "YELLOW": 1.0, "RED": 2.0}


def parse_environment(text: str) -> Reading:
    """``show environment all``: ``fan_ok``, ``power_supply_ok``, ``temperature_celsius``
    and ``temperature_over_threshold`` (GREEN 0, YELLOW 1, RED 2, or the value against the
    Yellow and Red thresholds the switch prints), from the Catalyst layouts (2960, 3850,
    9200/9300)."""
    samples: list[Sample] = []
    samples += _fans(text)
    samples += _power_supplies(text)
    samples += _temperatures(text)
    return Reading(samples)


def _fans(text: str) -> list[Sample]:
    samples: list[Sample] = []
    in_table = False
    for line in text.splitlines():
        cells = line.split()
        if cells[:3] == ["Switch", "FAN", "Speed"]:
            in_table = True
        elif in_table and (row := _FAN_ROW.match(line)):
            _add(samples, "fan_ok", "fan", f"{row[1]}/{row[2]}", row[3])
        elif found := _FAN_LINE.match(line):
            in_table = False
            where = "/".join(x for x in (found[1], found[2]) if x) or "1"
            _add(samples, "fan_ok", "fan", where, found[3])
    return samples


def _power_supplies(text: str) -> list[Sample]:
    samples: list[Sample] = []
    lines = text.splitlines()
    columns: dict[str, int] | None = None
    for line in lines:
        cells = line.split()
        if cells[:2] == ["SW", "PID"] and "Status" in cells:
            columns = {"status": line.index("Status"), "sys": line.index("Sys Pwr")}
            continue
        if cells[:2] == ["SW", "Status"]:  # the RPS table: redundant supplies, not ours
            columns = None
            continue
        if columns is None or not cells or not re.fullmatch(r"\d+[A-Z]?", cells[0]):
            continue
        if "not present" in line.lower():
            continue
        status = line[columns["status"] : columns["sys"]].strip()
        system = line[columns["sys"] :].split()[:1]
        ok = status.lower() in ("ok", "good") or (not status and system == ["Good"])
        samples.append(sample("power_supply_ok", float(ok), psu=cells[0]))
    return samples


def _temperatures(text: str) -> list[Sample]:
    samples: list[Sample] = []
    for line in text.splitlines():
        if row := _TEMP_ROW.match(line):
            sensor = f"{row['where']} {row['sensor'].strip()}"
            level = _LEVELS.get(row["state"].upper())
            samples.append(sample("temperature_celsius", float(row["value"]), sensor=sensor))
            if level is not None:
                samples.append(sample("temperature_over_threshold", level, sensor=sensor))
    value = _TEMP_VALUE.search(text)
    if value is not None:  # 2960-style: one system sensor with its two thresholds
        temp = float(value.group(1))
        limits = {k.lower(): float(v) for k, v in _THRESHOLD.findall(text)}
        samples.append(sample("temperature_celsius", temp, sensor="system"))
        if limits:
            level = 0.0
            if "red" in limits and temp >= limits["red"]:
                level = 2.0
            elif "yellow" in limits and temp >= limits["yellow"]:
                level = 1.0
            samples.append(sample("temperature_over_threshold", level, sensor="system"))
    return samples


def _add(samples: list[Sample], name: str, label: str, where: str, state: str) -> None:
    word = state.strip().lower()
    if word in ("not present", "absent", "not installed"):
        return
    samples.append(sample(name, float(word in ("ok", "good", "normal")), **{label: where}))


def parse_interfaces_description(text: str) -> Reading:
    """``show interfaces description``: ``interface_up`` (Protocol up),
    ``interface_admin_up`` (Status not ``admin down``), the description as ``alias``."""
    samples: list[Sample] = []
    at: dict[str, int] | None = None
    for line in text.splitlines():
        if line.startswith("Interface") and "Protocol" in line and "Status" in line:
            at = {k: line.index(k) for k in ("Status", "Protocol", "Description")}
            continue
        if at is None or not line.strip():
            continue
        name = line[: at["Status"]].strip()
        status = line[at["Status"] : at["Protocol"]].strip().lower()
        protocol = line[at["Protocol"] : at["Description"]].strip().lower()
        if not name or not status:
            continue
        labels = {"interface": name}
        alias = line[at["Description"] :].strip()
        if alias:
            labels["alias"] = alias
        samples.append(sample("interface_up", float(protocol.startswith("up")), **labels))
        admin = float(not status.startswith(("admin", "deleted")))
        samples.append(sample("interface_admin_up", admin, **labels))
    return Reading(samples)


_VALUE = re.compile(r"(-?\d+(?:\.\d+)?|N/?A)\s*(\+\+|--|\+|-(?!\d))?")
_PORT = re.compile(r"^([A-Za-z][\w-]*\d[\d/.:]*)\s+(.*)$")


def parse_transceiver(text: str) -> Reading:
    """``show interfaces transceiver``: per port Temperature, Voltage, [Current,] Tx and
    Rx power, each optionally flagged by the device against the module's thresholds
    (``++`` high alarm, ``+`` high warning, ``-`` low warning, ``--`` low alarm)."""
    samples: list[Sample] = []
    current = False
    for line in text.splitlines():
        if line.lstrip().startswith("Port") and "(Celsius)" in line:
            current = "(mA)" in line  # some platforms add the laser bias current
            continue
        port = _PORT.match(line)
        if port is None:
            continue
        values = _VALUE.findall(port.group(2))
        if len(values) != (5 if current else 4):
            continue
        name = port.group(1)
        (temp, temp_flag), (tx, _), (rx, rx_flag) = values[0], values[-2], values[-1]
        if _number(rx) is not None:
            samples.append(sample("optic_rx_power_dbm", float(rx), interface=name))
            samples.append(sample("optic_rx_power_low", float(rx_flag == "--"), interface=name))
        if _number(tx) is not None:
            samples.append(sample("optic_tx_power_dbm", float(tx), interface=name))
        if _number(temp) is not None:
            sensor = f"{name} transceiver"
            level = {"++": 2.0, "+": 1.0}.get(temp_flag, 0.0)
            samples.append(sample("temperature_celsius", float(temp), sensor=sensor))
            samples.append(sample("temperature_over_threshold", level, sensor=sensor))
    return Reading(samples)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# [seq:] [*]Nov 21 10:20:31.123 [CST]: %FACILITY-SEVERITY-MNEMONIC: text
_ENTRY = re.compile(r"%[A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*?-([0-7])-[A-Z0-9_]+\s*:")


def log_entries(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if _ENTRY.search(line)]


def parse_logging(text: str, seen: str | None) -> Reading:
    """``show logging``: new buffer entries of severity 0-3 (emergencies to errors)."""

    def severe(entry: str) -> bool:
        found = _ENTRY.search(entry)
        return found is not None and int(found.group(1)) <= 3

    return devlog.log_reading(log_entries(text), seen, severe)
