"""Command profiles per device OS, as data: what is run, at which depth, parsed how.

Every command is fixed, read-only text chosen here, never taken from the inventory (a
configuration value must not be able to run a command). The only substitution is
``{since}``, an integer Unix time the driver fills in for the log commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from collector.driver import Depth
from collector.ssh.parsers import Reading, comware, ios, vrp
from collector.ssh.parsers import linux as lx
from collector.ssh.shell import COMWARE_ERROR, IOS_ERROR, IOS_PROMPT, ShellDialect

Parse = Callable[[str], Reading]
ParseSince = Callable[[str, datetime], Reading]
# A device log: the text and the newest entry the last read saw (None: never read).
ParseLog = Callable[[str, str | None], Reading]


@dataclass(frozen=True)
class Command:
    key: str  # names the output in InspectionResult.raw and in meta
    line: str
    parse: Parse | None = None
    parse_since: ParseSince | None = None  # for log commands that filter by time themselves
    parse_log: ParseLog | None = None  # for log buffers read "after the last entry seen"
    full_only: bool = False
    ok_status: frozenset[int] = frozenset({0})
    # Output that means "this tool is not usable here" even with a good exit status.
    absent_markers: tuple[str, ...] = ()

    def render(self, since: datetime) -> str:
        return self.line.replace("{since}", str(int(since.timestamp())))

    def parse_output(self, text: str, since: datetime, seen: str | None = None) -> Reading:
        if self.parse_since is not None:
            return self.parse_since(text, since)
        if self.parse_log is not None:
            return self.parse_log(text, seen)
        assert self.parse is not None
        return self.parse(text)


@dataclass(frozen=True)
class Profile:
    """``shell`` None: each command on its own exec channel (Linux). Set: all of them in one
    interactive shell, with the dialect's setup lines first (network CLIs)."""

    name: str
    commands: tuple[Command, ...]
    shell: ShellDialect | None = None

    def for_depth(self, depth: Depth) -> list[Command]:
        return [c for c in self.commands if depth is Depth.full or not c.full_only]


# LC_ALL=C: numbers and headers in the C locale, whatever the account's language.
LINUX = Profile(
    "linux",
    (
        # Identity for reports and `weibao probe ssh`; the `true` keeps the exit status 0
        # on a system without /etc/os-release.
        Command(
            "identity",
            "uname -snrm; cat /etc/os-release 2>/dev/null; true",
            lx.parse_identity,
            full_only=True,
        ),
        Command("uptime", "cat /proc/uptime", lx.parse_uptime),
        Command("loadavg", "cat /proc/loadavg", lx.parse_loadavg),
        # df exits 1 when one mount is unreadable but still prints the others.
        Command("df", "LC_ALL=C df -P", lx.parse_df, ok_status=frozenset({0, 1})),
        Command("df_inodes", "LC_ALL=C df -Pi", lx.parse_df_inodes, ok_status=frozenset({0, 1})),
        Command("meminfo", "cat /proc/meminfo", lx.parse_meminfo),
        # Without systemd as PID 1 systemctl fails: the count is unknown, not 0.
        Command(
            "systemd_failed",
            "LC_ALL=C systemctl list-units --failed --plain --no-legend",
            lx.parse_systemctl_failed,
            absent_markers=("System has not been booted with systemd",),
        ),
        Command("mdstat", "cat /proc/mdstat", lx.parse_mdstat),
        Command(
            "journal",
            "LC_ALL=C journalctl -p err --since @{since} -q --no-pager -o short-iso",
            lx.parse_journal,
            full_only=True,
            absent_markers=("No journal files were found",),
        ),
        Command(
            "dmesg",
            "LC_ALL=C dmesg --level=emerg,alert,crit,err --time-format=iso",
            parse_since=lx.parse_dmesg,
            full_only=True,
        ),
    ),
)

HUAWEI_VRP = Profile(
    "huawei-vrp",
    (
        Command("cpu_usage", "display cpu-usage", vrp.parse_cpu_usage),
        Command("memory_usage", "display memory-usage", vrp.parse_memory_usage),
        Command("device", "display device", vrp.parse_device),
        Command("fan", "display fan", vrp.parse_fan),
        Command("power", "display power", vrp.parse_power),
        Command("temperature", "display temperature all", vrp.parse_temperature),
        Command("interface_brief", "display interface brief", vrp.parse_interface_brief),
    ),
    # VRP runs commands reliably only in an interactive shell. Paging off for this
    # session only ("temporary": nothing is saved); a device that refuses it is paged.
    shell=ShellDialect(setup=("screen-length 0 temporary",), exit="quit"),
)

H3C_COMWARE = Profile(
    "h3c-comware",
    (
        Command("version", "display version", comware.parse_version),
        Command("cpu_usage", "display cpu-usage", comware.parse_cpu_usage),
        Command("memory", "display memory", comware.parse_memory),
        Command("environment", "display environment", comware.parse_environment),
        Command("fan", "display fan", comware.parse_fan),
        Command("power", "display power", comware.parse_power),
        Command("interface_brief", "display interface brief", comware.parse_interface_brief),
        Command(
            "transceiver",
            "display transceiver diagnosis interface",
            comware.parse_transceiver_diagnosis,
        ),
        Command(
            "logbuffer", "display logbuffer", parse_log=comware.parse_logbuffer, full_only=True
        ),
    ),
    # Paging off for this session only (user view; nothing is saved).
    shell=ShellDialect(setup=("screen-length disable",), exit="quit", error=COMWARE_ERROR),
)

CISCO_IOS = Profile(
    "cisco-ios",
    (
        Command("version", "show version", ios.parse_version),
        Command("cpu", "show processes cpu | include CPU utilization", ios.parse_cpu),
        Command("memory", "show memory statistics", ios.parse_memory_statistics),
        Command("environment", "show environment all", ios.parse_environment),
        Command("interfaces", "show interfaces description", ios.parse_interfaces_description),
        Command("transceiver", "show interfaces transceiver", ios.parse_transceiver),
        Command("logging", "show logging", parse_log=ios.parse_logging, full_only=True),
    ),
    # Paging off and no line wrapping, for this session only (nothing is saved).
    shell=ShellDialect(
        setup=("terminal length 0", "terminal width 511"),
        exit="exit",
        prompt=IOS_PROMPT,
        error=IOS_ERROR,
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (LINUX, HUAWEI_VRP, H3C_COMWARE, CISCO_IOS)}
