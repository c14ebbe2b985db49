"""SNMPv2-MIB system group: read first, on every inspection, to choose the profile."""

from __future__ import annotations

from collections.abc import Sequence

from collector.driver import Depth
from collector.snmp.oid import Oid
from collector.snmp.readers.base import Options, ReadContext, Reading

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYSTEM_OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME)


class SystemOptions(Options):
    pass


class SystemReader:
    name = "system"
    needs_entities = False

    def __init__(self, options: SystemOptions | None = None) -> None:
        self.options = options or SystemOptions()

    def gets(self) -> Sequence[Oid]:
        return SYSTEM_OIDS

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return ()

    def read(self, ctx: ReadContext) -> Reading:
        reading = Reading()
        snap = ctx.snapshot
        uptime = snap.get(SYS_UPTIME)
        ticks = uptime.number() if uptime is not None else None
        if ticks is not None:
            reading.add("uptime_seconds", ticks / 100.0)
        name = snap.get(SYS_NAME)
        if name is not None and name.text():
            reading.facts["sys_name"] = name.text()
        oid = snap.get(SYS_OBJECT_ID)
        if oid is not None and oid.oid():
            reading.facts["sys_object_id"] = oid.text()
        return reading


def uptime_ticks(ctx: ReadContext) -> int | None:
    var = ctx.snapshot.get(SYS_UPTIME)
    return var.number() if var is not None else None
