"""Parsers for the Linux profile: /proc files, ``df -P``, systemctl, mdstat and logs.

Ratios follow what the tools show people: filesystem use is ``used / (used +
available)`` like df's Capacity column (the root reserve counts as unavailable), memory
use is ``1 - MemAvailable / MemTotal`` (reclaimable cache is not "used").
"""

from __future__ import annotations

import re
from datetime import datetime

from collector.ssh.parsers import Reading, sample
from weibao.observation import Sample

# Pseudo filesystems say nothing about a full disk; mount points under these never fill.
_PSEUDO_SOURCES = frozenset({"tmpfs", "devtmpfs", "udev", "shm", "none", "proc", "sysfs"})
_PSEUDO_MOUNTS = ("/dev", "/proc", "/sys", "/run")
LOG_TEXT_MAX = 200


def parse_uptime(text: str) -> Reading:
    parts = text.split()
    try:
        return Reading([sample("uptime_seconds", float(parts[0]))])
    except (IndexError, ValueError):
        return Reading()


def parse_loadavg(text: str) -> Reading:
    parts = text.split()
    try:
        return Reading([sample("load1", float(parts[0]))])
    except (IndexError, ValueError):
        return Reading()


def _df_rows(text: str) -> list[tuple[str, int, int, int, str]]:
    """(source, total, used, free, mountpoint) of the real filesystems in POSIX df output."""
    rows = []
    for line in text.splitlines()[1:]:
        # -P keeps one filesystem per line; the mount point is the rest (it may hold spaces).
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        source, total, used, free, _, mount = parts
        if source in _PSEUDO_SOURCES or _is_pseudo_mount(mount):
            continue
        try:
            rows.append((source, int(total), int(used), int(free), mount))
        except ValueError:
            continue  # "-" for filesystems without inodes (vfat, btrfs)
    return rows


def _is_pseudo_mount(mount: str) -> bool:
    return any(mount == p or mount.startswith(p + "/") for p in _PSEUDO_MOUNTS)


def _df(text: str, name: str) -> Reading:
    samples = []
    for _, _, used, free, mount in _df_rows(text):
        if used + free > 0:
            samples.append(sample(name, used / (used + free), mountpoint=mount))
    return Reading(samples)


def parse_df(text: str) -> Reading:
    """``df -P``: filesystem_usage_ratio per mount point."""
    return _df(text, "filesystem_usage_ratio")


def parse_df_inodes(text: str) -> Reading:
    """``df -Pi``: filesystem_inodes_usage_ratio per mount point (none for inode-less fs)."""
    return _df(text, "filesystem_inodes_usage_ratio")


def parse_meminfo(text: str) -> Reading:
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    samples: list[Sample] = []
    total = values.get("MemTotal", 0)
    if total > 0:
        available = values.get("MemAvailable")
        if available is None:  # kernels before 3.14
            available = sum(values.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
        samples.append(sample("memory_usage_ratio", 1.0 - available / total))
    swap_total = values.get("SwapTotal", 0)
    if swap_total > 0:  # no swap: no sample, not 0 % used
        swap_used = swap_total - values.get("SwapFree", swap_total)
        samples.append(sample("swap_usage_ratio", swap_used / swap_total))
    return Reading(samples)


def parse_systemctl_failed(text: str) -> Reading:
    """``systemctl list-units --failed --plain --no-legend``: one line per failed unit."""
    units = [line.split()[0] for line in text.splitlines() if line.strip()]
    facts = {"failed_units": ", ".join(units)[:500]} if units else {}
    return Reading([sample("systemd_failed_units", float(len(units)))], facts)


_MD_HEAD = re.compile(r"^(md\S*)\s*:\s*(\S+)")
_MD_MEMBERS = re.compile(r"\[(\d+)/(\d+)\]\s+\[([U_]+)\]")
_MD_ACTION = re.compile(r"\b(recovery|resync|reshape|check)\s*=")
_ACTIVITY = {"resync": "resyncing", "reshape": "reshaping"}


def parse_mdstat(text: str) -> Reading:
    """``/proc/mdstat``: raid_degraded and raid_state per array."""
    samples: list[Sample] = []
    arrays: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        head = _MD_HEAD.match(line)
        if head:
            current = head.group(1)
            arrays[current] = [line]
        elif current and line.startswith((" ", "\t")):
            arrays[current].append(line)
        else:
            current = ""
    for name, lines in arrays.items():
        body = "\n".join(lines)
        state = _md_state(body)
        samples.append(sample("raid_degraded", float(state != "clean"), array=name))
        samples.append(sample("raid_state", 1.0, array=name, state=state))
    return Reading(samples)


def _md_state(body: str) -> str:
    activity = _MD_HEAD.match(body)
    if activity and activity.group(2) == "inactive":
        return "inactive"
    members = _MD_MEMBERS.search(body)
    action = _MD_ACTION.search(body)
    if action and action.group(1) == "recovery":
        return "rebuilding"
    if members and int(members.group(2)) < int(members.group(1)):
        return "degraded"
    if "(F)" in body:
        return "degraded"
    if action and action.group(1) in _ACTIVITY:
        return _ACTIVITY[action.group(1)]
    return "clean"


def parse_journal(text: str) -> Reading:
    """``journalctl -p err -q -o short-iso``: count and the latest line (always a sample)."""
    return _log_reading("journal", [line for line in text.splitlines() if line.strip()])


_DMESG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)[,.]\d+([+-]\d\d:?\d\d)\s+(.*)$")


def parse_dmesg(text: str, since: datetime) -> Reading:
    """``dmesg --level=err,... --time-format=iso``: lines logged after ``since`` only."""
    lines = []
    for line in text.splitlines():
        match = _DMESG_TIME.match(line)
        if match is None:
            continue
        when = datetime.fromisoformat(match.group(1) + match.group(2))
        if when > since:
            lines.append(match.group(3))
    return _log_reading("kernel", lines)


def _log_reading(source: str, lines: list[str]) -> Reading:
    latest = lines[-1][:LOG_TEXT_MAX] if lines else ""
    return Reading([sample("log_error_lines", float(len(lines)), source=source, text=latest)])


def parse_identity(text: str) -> Reading:
    """``uname -snrm`` then /etc/os-release: facts only (hostname, kernel, arch, os_name)."""
    lines = text.splitlines()
    facts: dict[str, str] = {}
    parts = lines[0].split() if lines else []
    if len(parts) == 4:
        facts.update(hostname=parts[1], kernel=f"{parts[0]} {parts[2]}", arch=parts[3])
    for line in lines[1:]:
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME" and value.strip().strip("\"'"):
            facts["os_name"] = value.strip().strip("\"'")[:200]
    return Reading(facts=facts)
