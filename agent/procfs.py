"""Readers of ``/proc``, rooted at an injectable directory.

psutil reads these same files, but behind a process-wide root (``psutil.PROCFS_PATH``),
with state of its own between calls (``cpu_percent``) and 2.7 MiB of resident memory
on every customer server. Reading them here, with the root passed in as
prometheus_client's ``ProcessCollector`` does, lets the tests run every reader against a
fixture tree under ``tests/agent/fixtures`` and keeps the counters raw, so ``/metrics``
and the observation's rates share one reading.

Every reader raises ``OSError`` when its file is missing and ``ValueError`` when it cannot
parse it; the snapshot turns either into an "unknown" with its reason.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from agent.snapshot import (
    CpuTimes,
    DiskCounters,
    Interface,
    Load,
    Memory,
    ProcessCounts,
    ProcessUsage,
)

SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's own size
_CPU_LINE = re.compile(r"^cpu\d+ ")


def _sysconf(name: str, default: int) -> int:
    try:
        return int(os.sysconf(name))
    except (ValueError, OSError):
        return default


class ProcReader:
    """Reads this machine's ``/proc`` (or a fixture tree standing in for it)."""

    def __init__(
        self,
        proc_root: str | Path = "/proc",
        clock_ticks: int | None = None,
        page_size: int | None = None,
    ) -> None:
        self.root = Path(proc_root)
        self.ticks = clock_ticks or _sysconf("SC_CLK_TCK", 100)
        self.page_size = page_size or _sysconf("SC_PAGE_SIZE", 4096)

    def _read(self, *parts: str) -> str:
        return self.root.joinpath(*parts).read_text(encoding="utf-8", errors="replace")

    def cpu_times(self) -> tuple[CpuTimes, float]:
        """All-CPU times and the boot time (``btime``, seconds since the epoch)."""
        total: list[str] | None = None
        cpus = 0
        btime = 0.0
        for line in self._read("stat").splitlines():
            if line.startswith("cpu "):
                total = line.split()[1:]
            elif _CPU_LINE.match(line):
                cpus += 1
            elif line.startswith("btime "):
                btime = float(line.split()[1])
        if total is None or len(total) < 8:
            raise ValueError("no 'cpu' line with eight fields in /proc/stat")
        user, nice, system, idle, iowait, irq, softirq, steal = (
            int(v) / self.ticks for v in total[:8]
        )
        times = CpuTimes(user, nice, system, idle, iowait, irq, softirq, steal, max(cpus, 1))
        return times, btime

    def memory(self) -> Memory:
        kb: dict[str, int] = {}
        for line in self._read("meminfo").splitlines():
            key, _, rest = line.partition(":")
            fields = rest.split()
            if fields:
                kb[key] = int(fields[0])
        total = kb["MemTotal"]
        # Kernels before 3.14 have no MemAvailable; free + buffers + page cache is the
        # estimate `free` itself used then.
        available = kb.get("MemAvailable")
        if available is None:
            available = kb.get("MemFree", 0) + kb.get("Buffers", 0) + kb.get("Cached", 0)
        return Memory(
            total_bytes=total * 1024,
            available_bytes=available * 1024,
            swap_total_bytes=kb.get("SwapTotal", 0) * 1024,
            swap_free_bytes=kb.get("SwapFree", 0) * 1024,
        )

    def load(self) -> Load:
        fields = self._read("loadavg").split()
        return Load(float(fields[0]), float(fields[1]), float(fields[2]))

    def uptime(self) -> float:
        return float(self._read("uptime").split()[0])

    def boot_id(self) -> str:
        """Changes at every boot: what tells a reboot from an agent restart."""
        return self._read("sys", "kernel", "random", "boot_id").strip()

    def hostname(self) -> str:
        return self._read("sys", "kernel", "hostname").strip()

    def disk_counters(self, whole_disks: set[str] | None) -> list[DiskCounters]:
        """Counters of the whole disks named in ``whole_disks`` (all of them when None)."""
        disks = []
        for line in self._read("diskstats").splitlines():
            f = line.split()
            if len(f) < 14 or (whole_disks is not None and f[2] not in whole_disks):
                continue
            disks.append(
                DiskCounters(
                    disk=f[2],
                    reads=int(f[3]),
                    writes=int(f[7]),
                    read_bytes=int(f[5]) * SECTOR_BYTES,
                    written_bytes=int(f[9]) * SECTOR_BYTES,
                    io_seconds=int(f[12]) / 1000,
                )
            )
        return disks

    def interface_counters(self) -> list[Interface]:
        interfaces = []
        for line in self._read("net", "dev").splitlines()[2:]:
            name, sep, rest = line.partition(":")
            f = rest.split()
            if not sep or len(f) < 16:
                continue
            interfaces.append(
                Interface(
                    name=name.strip(),
                    receive_bytes=int(f[0]),
                    receive_errors=int(f[2]),
                    receive_drops=int(f[3]),
                    transmit_bytes=int(f[8]),
                    transmit_errors=int(f[10]),
                    transmit_drops=int(f[11]),
                )
            )
        return interfaces

    def mounts(self) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """``(device, mountpoint, fstype, options)`` in mount order."""
        mounts = []
        for line in self._read("mounts").splitlines():
            f = line.split()
            if len(f) >= 4:
                mounts.append((_unescape(f[0]), _unescape(f[1]), f[2], tuple(f[3].split(","))))
        return mounts

    def _process_stats(self, size: int) -> list[tuple[str, bytes]]:
        """``(pid, contents of /proc/<pid>/stat)`` for every process.

        The hottest reader (one file per process at every scrape): raw ``os.open`` and
        ``os.read`` cost half of what Python file objects do.
        """
        found = []
        root = os.fspath(self.root)
        for name in os.listdir(root):
            if not name.isdigit():
                continue
            try:
                fd = os.open(f"{root}/{name}/stat", os.O_RDONLY)
            except OSError:
                continue  # exited between the listing and the open
            try:
                found.append((name, os.read(fd, size)))
            except OSError:
                continue
            finally:
                os.close(fd)
        return found

    def process_counts(self) -> ProcessCounts:
        """Processes (not threads) and how many are zombies."""
        total = zombie = 0
        for _pid, stat in self._process_stats(512):
            total += 1
            # The state follows the last ')': the command name may hold spaces or ')'.
            end = stat.rfind(b")")
            if end != -1 and stat[end + 2 : end + 3] == b"Z":
                zombie += 1
        return ProcessCounts(total=total, zombie=zombie)

    def process_usage(self) -> list[ProcessUsage]:
        """CPU time and resident memory of every process, for the busiest ones.

        Only the command name (``comm``) is read, never ``cmdline``: command lines carry
        passwords and connection strings often enough.
        """
        usages = []
        for pid, stat in self._process_stats(1024):
            start, end = stat.find(b"("), stat.rfind(b")")
            fields = stat[end + 2 :].split()
            if start == -1 or end == -1 or len(fields) < 22:
                continue
            usages.append(
                ProcessUsage(
                    pid=int(pid),
                    name=stat[start + 1 : end].decode("utf-8", "replace"),
                    cpu_seconds=(int(fields[11]) + int(fields[12])) / self.ticks,
                    rss_bytes=int(fields[21]) * self.page_size,
                )
            )
        return usages

    def mdstat(self) -> str | None:
        """The text of ``/proc/mdstat``, or None where the md driver is not loaded."""
        try:
            return self._read("mdstat")
        except FileNotFoundError:
            return None


_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(text: str) -> str:
    """The kernel writes a space in a mount point as ``\\040``."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)
