"""UCD-SNMP-MIB (net-snmp agents, also many appliances built on it): memory and load.

Preferred over hrStorage for memory where present, because it states buffers and
cache explicitly (memAvailReal alone would count the page cache as used).
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.driver import Depth
from collector.snmp.oid import Oid
from collector.snmp.readers.base import Options, ReadContext, Reading

_MEM: Oid = (1, 3, 6, 1, 4, 1, 2021, 4)
MEM_TOTAL_SWAP, MEM_AVAIL_SWAP, MEM_TOTAL_REAL, MEM_AVAIL_REAL = (
    (*_MEM, c, 0) for c in (3, 4, 5, 6)
)
MEM_BUFFER, MEM_CACHED = ((*_MEM, c, 0) for c in (14, 15))
LA_LOAD_INT = (1, 3, 6, 1, 4, 1, 2021, 10, 1, 5)  # load average x 100, rows 1/5/15 min
SS_CPU_IDLE = (1, 3, 6, 1, 4, 1, 2021, 11, 11, 0)
GETS = (
    MEM_TOTAL_SWAP,
    MEM_AVAIL_SWAP,
    MEM_TOTAL_REAL,
    MEM_AVAIL_REAL,
    MEM_BUFFER,
    MEM_CACHED,
    SS_CPU_IDLE,
)


class UcdOptions(Options):
    pass


class UcdReader:
    name = "ucd"
    needs_entities = False

    def __init__(self, options: UcdOptions | None = None) -> None:
        self.options = options or UcdOptions()

    def gets(self) -> Sequence[Oid]:
        return GETS

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return (LA_LOAD_INT,)

    def read(self, ctx: ReadContext) -> Reading:
        snap = ctx.snapshot
        reading = Reading()

        def number(oid: Oid) -> int | None:
            var = snap.get(oid)
            return var.number() if var is not None else None

        total, avail = number(MEM_TOTAL_REAL), number(MEM_AVAIL_REAL)
        if total and avail is not None:
            cache = (number(MEM_BUFFER) or 0) + (number(MEM_CACHED) or 0)
            used = max(total - avail - cache, 0)
            reading.add("memory_usage_ratio", min(used / total, 1.0))
        swap_total, swap_avail = number(MEM_TOTAL_SWAP), number(MEM_AVAIL_SWAP)
        if swap_total and swap_avail is not None:
            reading.add("swap_usage_ratio", min(max(1 - swap_avail / swap_total, 0.0), 1.0))
        load = snap.get((*LA_LOAD_INT, 1))
        if load is not None and load.number() is not None:
            reading.add("load1", (load.number() or 0) / 100.0)
        idle = number(SS_CPU_IDLE)
        if idle is not None and 0 <= idle <= 100:
            reading.add("cpu_usage_ratio", (100 - idle) / 100.0)
        return reading
