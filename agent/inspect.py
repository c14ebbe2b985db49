"""Inspect this server with psutil and express what it finds in the shared vocabulary.

This is the health check the agent pushes; the full inspection (disk I/O, SMART, RAID,
top processes, ...) extends it. Pseudo filesystems are left out: a full ``/proc`` or a
squashfs snap image is not a fault anyone can fix.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import datetime

import psutil

from weibao.observation import Observation, Sample, Source

# Filesystems that hold no user data or are read-only images by design.
PSEUDO_FS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "tmpfs",
        "cgroup",
        "cgroup2",
        "overlay",
        "squashfs",
        "autofs",
        "mqueue",
        "hugetlbfs",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "binfmt_misc",
        "nsfs",
        "ramfs",
        "iso9660",
        "efivarfs",
        "rpc_pipefs",
        "selinuxfs",
        "fuse.lxcfs",
        "fuse.snapfuse",
    }
)


def _ratio(used: float, total: float) -> float | None:
    return used / total if total > 0 else None


def filesystem_samples() -> Iterable[Sample]:
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype in PSEUDO_FS or part.mountpoint in seen:
            continue
        seen.add(part.mountpoint)
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue  # unmounted between listing and stat, or no permission
        ratio = _ratio(usage.used, usage.used + usage.free)  # as df's Use%
        if ratio is not None:
            yield Sample(
                name="filesystem_usage_ratio",
                labels={"mountpoint": part.mountpoint},
                value=round(ratio, 6),
            )


def interface_samples() -> Iterable[Sample]:
    for name, stats in sorted(psutil.net_if_stats().items()):
        if name == "lo":
            continue
        yield Sample(name="interface_up", labels={"interface": name}, value=1 if stats.isup else 0)


def inspect_host(device: str, now: datetime, boot_time: float | None = None) -> Observation:
    """One health inspection of this machine as an observation for ``device``."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    booted = psutil.boot_time() if boot_time is None else boot_time
    samples = [
        Sample(name="up", value=1),
        Sample(name="uptime_seconds", value=round(max(0.0, now.timestamp() - booted), 3)),
        Sample(name="cpu_usage_ratio", value=round(psutil.cpu_percent(interval=None) / 100, 6)),
        Sample(name="load1", value=psutil.getloadavg()[0]),
        Sample(name="memory_usage_ratio", value=round(memory.percent / 100, 6)),
    ]
    if swap.total:
        samples.append(Sample(name="swap_usage_ratio", value=round(swap.percent / 100, 6)))
    samples.extend(filesystem_samples())
    samples.extend(interface_samples())
    return Observation(
        device=device,
        source=Source.agent,
        time=now,
        samples=samples,
        meta={"hostname": socket.gethostname()},
    )
