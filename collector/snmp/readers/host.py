"""HOST-RESOURCES-MIB: processor load, filesystems and memory from hrStorageTable.

Memory follows the agent's convention: net-snmp lists "Memory buffers" and "Cached
memory" as separate hrStorage rows, and reclaimable memory is not "used" in weibao's
vocabulary, so they are subtracted from the RAM row. Mounts of pseudo filesystems
(/dev, /run, /sys, /proc: tmpfs and friends) are skipped by default, as the agent skips
tmpfs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field

from collector.driver import Depth
from collector.snmp.oid import Oid
from collector.snmp.readers.base import Options, ReadContext, Reading
from collector.snmp.snapshot import Var

HR_PROCESSOR_LOAD: Oid = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2)
HR_STORAGE: Oid = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_TYPE, HR_DESCR, HR_UNITS, HR_SIZE, HR_USED = ((*HR_STORAGE, c) for c in (2, 3, 4, 5, 6))
_TYPES: Oid = (1, 3, 6, 1, 2, 1, 25, 2, 1)
RAM, VIRTUAL, FIXED_DISK, REMOVABLE, NETWORK_DISK = ((*_TYPES, n) for n in (2, 3, 4, 5, 10))
FILESYSTEM_TYPES = (FIXED_DISK, REMOVABLE, NETWORK_DISK)
RECLAIMABLE = ("memory buffers", "cached memory")


class HostResourcesOptions(Options):
    ignore_mountpoints: list[re.Pattern[str]] = Field(
        default_factory=lambda: [re.compile(r"^/(dev|run|sys|proc)(/|$)")]
    )
    memory: bool = Field(default=True, description="report memory_usage_ratio from hrStorage")


class HostResourcesReader:
    name = "host_resources"
    needs_entities = False

    def __init__(self, options: HostResourcesOptions | None = None) -> None:
        self.options = options or HostResourcesOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return (HR_PROCESSOR_LOAD, HR_TYPE, HR_DESCR, HR_UNITS, HR_SIZE, HR_USED)

    def read(self, ctx: ReadContext) -> Reading:
        snap = ctx.snapshot
        reading = Reading()
        loads = [v.number() for v in snap.column(HR_PROCESSOR_LOAD).values()]
        numbers = [n for n in loads if n is not None]
        if numbers:
            reading.add("cpu_usage_ratio", _ratio(sum(numbers) / len(numbers), 100))
        cols = {c: snap.column(c) for c in (HR_TYPE, HR_DESCR, HR_UNITS, HR_SIZE, HR_USED)}
        ram_used = ram_size = reclaimable = 0.0
        for row, descr_var in cols[HR_DESCR].items():
            descr = descr_var.text()
            kind = cols[HR_TYPE].get(row)
            size, used = _bytes(cols, HR_SIZE, row), _bytes(cols, HR_USED, row)
            if size is None or used is None:
                continue
            storage_type = kind.oid() if kind is not None else None
            if storage_type in FILESYSTEM_TYPES and size > 0:
                if not any(p.search(descr) for p in self.options.ignore_mountpoints):
                    reading.add("filesystem_usage_ratio", _ratio(used, size), mountpoint=descr)
            elif storage_type == RAM:
                ram_used, ram_size = ram_used + used, ram_size + size
            elif descr.lower() in RECLAIMABLE:
                reclaimable += used
            elif storage_type == VIRTUAL and descr.lower() == "swap space" and size > 0:
                reading.add("swap_usage_ratio", _ratio(used, size))
        if self.options.memory and ram_size > 0:
            reading.add("memory_usage_ratio", _ratio(max(ram_used - reclaimable, 0), ram_size))
        return reading


def _bytes(cols: dict[Oid, dict[Oid, Var]], column: Oid, row: Oid) -> float | None:
    var, units = cols[column].get(row), cols[HR_UNITS].get(row)
    value = var.number() if var is not None else None
    unit = units.number() if units is not None else None
    if value is None or not unit:
        return None
    if value < 0:  # Integer32 overflow on large disks: the agent meant an unsigned count
        value += 2**32
    return float(value) * unit


def _ratio(used: float, total: float) -> float:
    return min(max(used / total, 0.0), 1.0)
