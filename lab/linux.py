"""What a lab Linux server prints: a tiny read-only "shell" over the device's data.

It understands the handful of programs an inspection runs (``cat`` of a few /proc files
and /etc/os-release, ``uname``, ``df -P``/``-Pi``, ``systemctl list-units --failed``,
``journalctl``, ``dmesg``, ``true``), joined by ``;`` and with an ``LC_ALL=C`` prefix,
and prints them in the exact layout of the real tools; anything else is "command not
found" (status 127), as on a server without that tool. It never runs a command.

The collector sends a whole inspection as one script (``collector/ssh/script.py``): each
command in ``{ ... }`` followed by ``printf`` marks with a token; :func:`run_script`
answers it as ``sh`` would, mark for mark.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from lab.model import Filesystem, Host, RaidArray

KIB = 1024


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str
    status: int


_FIRST_MARK = re.compile(r"^printf '\\036(WB-[0-9a-f]+) -\\n'; printf '\\036\1 -\\n' >&2$")
_BLOCK = re.compile(
    r"^\{ (?P<command>.*?)\n\}; printf '\\036(?P<token>WB-[0-9a-f]+) %d %d\\n' "
    r"(?P<number>\d+) \$\?; printf '\\036(?P=token) %d\\n' (?P=number) >&2$",
    re.S | re.M,
)


def run_script(script: str, name: str, host: Host, uptime: float) -> Result | None:
    """Answer the collector's one-channel inspection script; None if it is not one."""
    first, _, rest = script.partition("\n")
    opening = _FIRST_MARK.match(first)
    if opening is None:
        return None
    token = opening.group(1)
    out = [f"\x1e{token} -\n"]
    err = [f"\x1e{token} -\n"]
    for block in _BLOCK.finditer(rest):
        number = int(block.group("number"))
        result = run(block.group("command"), name, host, uptime)
        out.append(f"{result.stdout}\x1e{token} {number} {result.status}\n")
        err.append(f"{result.stderr}\x1e{token} {number}\n")
    return Result("".join(out), "".join(err), 0)


def run(line: str, name: str, host: Host, uptime: float) -> Result:
    """Run one command line of ``;``-separated commands; the last status counts."""
    out: list[str] = []
    err: list[str] = []
    status = 0
    for part in line.split(";"):
        if not part.strip():
            continue
        result = _one(part.strip(), name, host, uptime)
        out.append(result.stdout)
        err.append(result.stderr)
        status = result.status
    return Result("".join(out), "".join(err), status)


def _one(command: str, name: str, host: Host, uptime: float) -> Result:
    try:
        words = shlex.split(command)
    except ValueError:
        return Result("", f"sh: syntax error: {command}\n", 2)
    while words and "=" in words[0] and not words[0].startswith("="):
        words = words[1:]  # VAR=value prefixes (LC_ALL=C)
    words = [w for w in words if w not in ("2>/dev/null",)]
    if not words:
        return Result("", "", 0)
    program, args = words[0], words[1:]
    if program == "true":
        return Result("", "", 0)
    if program == "cat":
        return _cat(args, host, uptime)
    if program == "uname":
        return Result(f"Linux {name} {host.kernel} x86_64\n", "", 0)
    if program == "df":
        return Result(df_inodes(host) if "-Pi" in args else df(host), "", 0)
    if program == "systemctl":
        return Result(systemctl_failed(host), "", 0)
    if program in ("journalctl", "dmesg"):
        return Result("", "", 0)  # no error lines: the lab's faults are elsewhere
    return Result("", f"sh: 1: {program}: not found\n", 127)


def _cat(paths: list[str], host: Host, uptime: float) -> Result:
    files = {
        "/proc/uptime": lambda: f"{uptime:.2f} {uptime * host.cpus * 0.9:.2f}\n",
        "/proc/loadavg": lambda: loadavg(host),
        "/proc/meminfo": lambda: meminfo(host),
        "/proc/mdstat": lambda: mdstat(host),
        "/etc/os-release": lambda: host.os_release,
    }
    out, err = [], []
    for path in paths:
        reader = files.get(path)
        if reader is None:
            err.append(f"cat: {path}: No such file or directory\n")
        else:
            out.append(reader())
    return Result("".join(out), "".join(err), 1 if err else 0)


def loadavg(host: Host) -> str:
    return f"{host.load1:.2f} {host.load1 * 0.9:.2f} {host.load1 * 0.8:.2f} 2/613 23456\n"


def meminfo(host: Host) -> str:
    total = host.memory.size // KIB
    available = round(total * (1 - host.memory.used))
    lines = [
        ("MemTotal", total),
        ("MemFree", available // 4),
        ("MemAvailable", available),
        ("Buffers", available // 20),
        ("Cached", available // 2),
    ]
    if host.swap is not None:
        swap = host.swap.size // KIB
        lines += [("SwapTotal", swap), ("SwapFree", round(swap * (1 - host.swap.used)))]
    else:
        lines += [("SwapTotal", 0), ("SwapFree", 0)]
    return "".join(f"{key + ':':<16}{value:>8} kB\n" for key, value in lines)


def _df_rows(host: Host) -> list[tuple[str, str, Filesystem]]:
    rows = []
    for n, (mount, fs) in enumerate(host.filesystems.items(), start=1):
        rows.append((fs.device or f"/dev/sda{n}", mount, fs))
    return rows


def df(host: Host) -> str:
    lines = ["Filesystem     1024-blocks      Used Available Capacity Mounted on"]
    for device, mount, fs in _df_rows(host):
        blocks = fs.size // KIB
        used = round(blocks * fs.used)
        free = blocks - used
        capacity = -(-used * 100 // max(used + free, 1))  # df rounds up
        lines.append(f"{device:<14} {blocks:>11} {used:>9} {free:>9} {capacity:>7}% {mount}")
    return "\n".join(lines) + "\n"


def df_inodes(host: Host) -> str:
    lines = ["Filesystem       Inodes   IUsed    IFree IUse% Mounted on"]
    for device, mount, fs in _df_rows(host):
        inodes = max(fs.size // (16 * KIB * KIB), 1024)  # one inode per 16 MiB, as mkfs does
        used = round(inodes * fs.inodes_used)
        percent = -(-used * 100 // inodes)
        lines.append(f"{device:<14} {inodes:>8} {used:>7} {inodes - used:>8} {percent:>4}% {mount}")
    return "\n".join(lines) + "\n"


def systemctl_failed(host: Host) -> str:
    return "".join(
        f"{unit:<20} loaded failed failed {unit.removesuffix('.service')}\n"
        for unit in host.failed_units
    )


def mdstat(host: Host) -> str:
    levels = sorted({a.level for a in host.raid.values()})
    lines = ["Personalities : " + " ".join(f"[{level}]" for level in levels)]
    for name, array in host.raid.items():
        lines += _array(name, array)
        lines.append("")
    lines.append("unused devices: <none>")
    return "\n".join(lines) + "\n"


def _array(name: str, array: RaidArray) -> list[str]:
    members = " ".join(
        f"{disk}[{i}]" + ("(F)" if disk in array.failed else "")
        for i, disk in enumerate(array.disks)
    )
    working = len(array.disks) - len(array.failed)
    flags = "".join("_" if d in array.failed else "U" for d in array.disks)
    blocks = array.size // KIB
    return [
        f"{name} : active {array.level} {members}",
        f"      {blocks} blocks super 1.2 [{len(array.disks)}/{working}] [{flags}]",
        "      bitmap: 1/8 pages [4KB], 65536KB chunk",
    ]
