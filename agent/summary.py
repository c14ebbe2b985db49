"""One inspection as a person reads it: ``weibao agent --once`` without ``--json``.

A few lines on what matters when checking a server by hand (the system, how full it is,
what is down or failing, what could not be read); ``--json`` shows every sample.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from weibao.delivery.wire import WireObservation, WireSample

GiB = 1024**3


def format_summary(observation: WireObservation) -> str:
    """The observation as indented lines, ending with where the rest is."""
    by_name: dict[str, list[WireSample]] = defaultdict(list)
    for s in observation["samples"]:
        by_name[s["name"]].append(s)
    meta: dict[str, str] = observation["meta"]
    inspection = meta.get("inspection", "")
    head = f"{observation['device']}: {inspection} inspection at {observation['time']}".strip()
    lines = [head, *(f"  {label:<13}{text}" for label, text in _lines(by_name, meta))]
    unknown = {k.removeprefix("unknown."): v for k, v in meta.items() if k.startswith("unknown.")}
    if unknown:
        lines.append(f"  {'not read':<13}{len(unknown)}:")
        lines += [f"    {key}: {why}" for key, why in sorted(unknown.items())]
    lines.append(f"  {len(observation['samples'])} samples; --json prints them all")
    return "\n".join(lines)


def _lines(by_name: dict[str, list[WireSample]], meta: dict[str, str]) -> Iterator[tuple[str, str]]:
    def one(name: str) -> float | None:
        found = by_name.get(name)
        return float(found[0]["value"]) if found else None

    system = [meta.get("os_name"), meta.get("kernel"), meta.get("arch")]
    if meta.get("cpu_count"):
        system.append(f"{meta['cpu_count']} CPUs")
    if meta.get("memory_bytes", "").isdigit():
        system.append(f"{int(meta['memory_bytes']) / GiB:.1f} GiB memory")
    identity = [f"hostname {meta['hostname']}"] if "hostname" in meta else []
    identity += [f"serial {meta['dmi_serial']}"] if "dmi_serial" in meta else []
    if any(system):
        yield "system", ", ".join(p for p in system if p)
    if identity:
        yield "identity", ", ".join(identity)
    uptime = one("uptime_seconds")
    if uptime is not None:
        rebooted = one("rebooted")
        yield "up", _duration(uptime) + (" (rebooted since the last run)" if rebooted else "")
    cpu, iowait, load = one("cpu_usage_ratio"), one("cpu_iowait_ratio"), one("load1")
    parts = [f"{cpu:.0%} busy" if cpu is not None else None]
    parts += [f"iowait {iowait:.0%}" if iowait is not None else None]
    parts += [f"load {load:g}" if load is not None else None]
    if any(parts):
        yield "cpu", ", ".join(p for p in parts if p)
    memory, swap = one("memory_usage_ratio"), one("swap_usage_ratio")
    if memory is not None:
        yield "memory", f"{memory:.0%} used" + (f", swap {swap:.0%}" if swap is not None else "")
    filesystems = []
    readonly = {s["labels"]["mountpoint"] for s in by_name["filesystem_readonly"] if s["value"]}
    for s in sorted(by_name["filesystem_usage_ratio"], key=lambda s: -s["value"]):
        mount = s["labels"]["mountpoint"]
        filesystems.append(
            f"{mount} {s['value']:.0%}" + (" read-only" if mount in readonly else "")
        )
    if filesystems:
        yield "filesystems", ", ".join(filesystems)
    up = [s["labels"]["interface"] for s in by_name["interface_up"] if s["value"]]
    admin = {s["labels"]["interface"]: s["value"] for s in by_name["interface_admin_up"]}
    down = [
        s["labels"]["interface"]
        for s in by_name["interface_up"]
        if not s["value"] and admin.get(s["labels"]["interface"], 1)
    ]
    if up or down:
        yield "interfaces", f"{len(up)} up" + (f", down: {', '.join(down)}" if down else "")
    degraded = [s["labels"]["array"] for s in by_name["raid_degraded"] if s["value"]]
    if by_name["raid_degraded"]:
        yield "raid", f"degraded: {', '.join(degraded)}" if degraded else "all arrays healthy"
    failed = one("systemd_failed_units")
    if failed:
        yield "failed units", meta.get("failed_units", f"{failed:g}")
    bad_disks = [s["labels"]["disk"] for s in by_name["disk_smart_ok"] if not s["value"]]
    if by_name["disk_smart_ok"]:
        yield "smart", f"failing: {', '.join(bad_disks)}" if bad_disks else "all disks pass"
    synced, offset = one("clock_synchronized"), one("clock_offset_seconds")
    if synced is not None:
        text = "synchronized" if synced else "NOT synchronized"
        if offset is not None:
            text += f", offset {offset * 1000:.1f} ms"
        yield "clock", text + (f" ({meta['clock_source']})" if "clock_source" in meta else "")
    busiest = sorted(by_name["process_cpu_ratio"], key=lambda s: -s["value"])[:3]
    if busiest:
        yield "busiest", ", ".join(f"{s['labels']['process']} {s['value']:.0%}" for s in busiest)


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"
