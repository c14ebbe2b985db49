"""LLDP-MIB and CISCO-CDP-MIB neighbours, read on full inspections.

Neighbours are facts, not measurements: they leave as ``meta.neighbors``, a JSON list of
``{protocol, local_port, remote_name, remote_port, remote_chassis}``, from which
``weibao topology suggest`` can propose ``depends_on`` entries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from collector.driver import Depth
from collector.snmp.oid import Oid
from collector.snmp.readers.base import Options, ReadContext, Reading
from collector.snmp.readers.interfaces import IF_DESCR, IF_NAME
from collector.snmp.snapshot import Snapshot, Var

LLDP_REM: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
REM_CHASSIS_SUBTYPE, REM_CHASSIS, REM_PORT_SUBTYPE, REM_PORT = (
    (*LLDP_REM, c) for c in (4, 5, 6, 7)
)
REM_PORT_DESCR, REM_SYS_NAME = (*LLDP_REM, 8), (*LLDP_REM, 9)
LLDP_LOC_PORT: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1)
LOC_PORT_ID, LOC_PORT_DESCR = (*LLDP_LOC_PORT, 3), (*LLDP_LOC_PORT, 4)
CDP_CACHE: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)
CDP_DEVICE_ID, CDP_DEVICE_PORT = (*CDP_CACHE, 6), (*CDP_CACHE, 7)
MAC_SUBTYPES = {"chassis": 4, "port": 3}  # macAddress in each subtype enumeration

WALKS = (
    REM_CHASSIS_SUBTYPE,
    REM_CHASSIS,
    REM_PORT_SUBTYPE,
    REM_PORT,
    REM_PORT_DESCR,
    REM_SYS_NAME,
    LOC_PORT_ID,
    LOC_PORT_DESCR,
    CDP_DEVICE_ID,
    CDP_DEVICE_PORT,
)


class NeighborsOptions(Options):
    pass


class NeighborsReader:
    name = "neighbors"
    needs_entities = False

    def __init__(self, options: NeighborsOptions | None = None) -> None:
        self.options = options or NeighborsOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return WALKS if depth is Depth.full else ()

    def read(self, ctx: ReadContext) -> Reading:
        found = _lldp(ctx.snapshot) + _cdp(ctx.snapshot)
        reading = Reading()
        if found:
            reading.facts["neighbors"] = json.dumps(found, ensure_ascii=False, sort_keys=True)
        return reading


def _lldp(snap: Snapshot) -> list[dict[str, str]]:
    cols = {c: snap.column(c) for c in WALKS[:6]}
    local_ids, local_descrs = snap.column(LOC_PORT_ID), snap.column(LOC_PORT_DESCR)
    out = []
    for row in sorted(set(cols[REM_CHASSIS]) | set(cols[REM_SYS_NAME])):
        if len(row) < 3:
            continue
        local = (row[1],)  # index: timeMark, localPortNum, remIndex
        port = _text(local_ids.get(local)) or _text(local_descrs.get(local)) or str(row[1])
        out.append(
            {
                "protocol": "lldp",
                "local_port": port,
                "remote_name": _text(cols[REM_SYS_NAME].get(row)),
                "remote_port": _id(cols[REM_PORT].get(row), cols[REM_PORT_SUBTYPE].get(row), "port")
                or _text(cols[REM_PORT_DESCR].get(row)),
                "remote_chassis": _id(
                    cols[REM_CHASSIS].get(row), cols[REM_CHASSIS_SUBTYPE].get(row), "chassis"
                ),
            }
        )
    return out


def _cdp(snap: Snapshot) -> list[dict[str, str]]:
    names, ports = snap.column(CDP_DEVICE_ID), snap.column(CDP_DEVICE_PORT)
    if_names, if_descrs = snap.column(IF_NAME), snap.column(IF_DESCR)
    out = []
    for row, device in sorted(names.items()):
        local = row[:1]  # index: ifIndex, deviceIndex
        out.append(
            {
                "protocol": "cdp",
                "local_port": _text(if_names.get(local)) or _text(if_descrs.get(local)),
                "remote_name": _text(device),
                "remote_port": _text(ports.get(row)),
                "remote_chassis": "",
            }
        )
    return out


def _text(var: Var | None) -> str:
    return var.text() if var is not None else ""


def _id(var: Var | None, subtype: Var | None, what: str) -> str:
    """A MAC address as aa:bb:..., anything else as text."""
    if var is None:
        return ""
    is_mac = subtype is not None and subtype.number() == MAC_SUBTYPES[what]
    if is_mac and isinstance(var.value, bytes) and len(var.value) == 6:
        return ":".join(f"{b:02x}" for b in var.value)
    return var.text()
