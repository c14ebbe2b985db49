"""LLDP-MIB and CISCO-CDP-MIB neighbours, read on full inspections.

Neighbours are facts, not measurements: they leave as ``meta.neighbors``, a JSON list of
``{protocol, local_port, remote_name, remote_port, remote_chassis, remote_address}``, and
the device's own LLDP chassis ID as ``meta.lldp_chassis``, from which ``weibao topology
suggest`` matches neighbours to inventory devices and proposes ``depends_on`` entries.
"""

from __future__ import annotations

import ipaddress
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
CDP_ADDRESS_TYPE, CDP_ADDRESS = (*CDP_CACHE, 3), (*CDP_CACHE, 4)
# lldpRemManAddrIfSubtype: walked for its index, which holds the management address.
REM_MAN_ADDR: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 2, 1, 3)
LOC_CHASSIS_SUBTYPE: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 1)
LOC_CHASSIS: Oid = (1, 0, 8802, 1, 1, 2, 1, 3, 2)
MAC_SUBTYPES = {"chassis": 4, "port": 3}  # macAddress in each subtype enumeration
NETWORK_SUBTYPES = {"chassis": 5, "port": 4}  # networkAddress: IANA family + address

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
    REM_MAN_ADDR,
    LOC_CHASSIS_SUBTYPE,
    LOC_CHASSIS,
    CDP_ADDRESS_TYPE,
    CDP_ADDRESS,
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
        chassis = _id(
            ctx.snapshot.get((*LOC_CHASSIS, 0)),
            ctx.snapshot.get((*LOC_CHASSIS_SUBTYPE, 0)),
            "chassis",
        )
        if chassis:
            reading.facts["lldp_chassis"] = chassis
        return reading


def _lldp(snap: Snapshot) -> list[dict[str, str]]:
    cols = {c: snap.column(c) for c in WALKS[:6]}
    local_ids, local_descrs = snap.column(LOC_PORT_ID), snap.column(LOC_PORT_DESCR)
    addresses = _management_addresses(snap)
    out = []
    for row in sorted(set(cols[REM_CHASSIS]) | set(cols[REM_SYS_NAME])):
        if len(row) < 3:
            continue
        local = (row[1],)  # index: timeMark, localPortNum, remIndex
        port = _text(local_ids.get(local)) or _text(local_descrs.get(local)) or str(row[1])
        chassis = _id(cols[REM_CHASSIS].get(row), cols[REM_CHASSIS_SUBTYPE].get(row), "chassis")
        out.append(
            {
                "protocol": "lldp",
                "local_port": port,
                "remote_name": _text(cols[REM_SYS_NAME].get(row)),
                "remote_port": _id(cols[REM_PORT].get(row), cols[REM_PORT_SUBTYPE].get(row), "port")
                or _text(cols[REM_PORT_DESCR].get(row)),
                "remote_chassis": chassis,
                "remote_address": addresses.get(row, "") or _as_address(chassis),
            }
        )
    return out


def _cdp(snap: Snapshot) -> list[dict[str, str]]:
    names, ports = snap.column(CDP_DEVICE_ID), snap.column(CDP_DEVICE_PORT)
    types, addresses = snap.column(CDP_ADDRESS_TYPE), snap.column(CDP_ADDRESS)
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
                "remote_address": _cdp_address(types.get(row), addresses.get(row)),
            }
        )
    return out


def _management_addresses(snap: Snapshot) -> dict[Oid, str]:
    """Remote row → its first IPv4 management address (else IPv6), from the table index.

    The index is ``timeMark, localPortNum, remIndex, addrSubtype, length, address...``.
    """
    found: dict[Oid, list[str]] = {}
    for index in snap.column(REM_MAN_ADDR):
        if len(index) < 5 or len(index) != 5 + index[4] or max(index[5:], default=0) > 255:
            continue
        address = _inet(index[3], bytes(index[5:]))
        if address:
            found.setdefault(index[:3], []).append(address)
    return {row: min(found[row], key=lambda a: ":" in a) for row in found}


def _cdp_address(kind: Var | None, value: Var | None) -> str:
    if kind is None or kind.number() != 1 or value is None:  # 1: ip
        return ""
    return _inet(1, value.value) if isinstance(value.value, bytes) else ""


def _inet(family: int, raw: bytes) -> str:
    """An IANA address family (1 IPv4, 2 IPv6) and its bytes as text; "" for anything else."""
    if family == 1 and len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    if family == 2 and len(raw) == 16:
        return str(ipaddress.IPv6Address(raw))
    return ""


def _as_address(text: str) -> str:
    """A chassis ID that is an IP address (subtype networkAddress), else ""."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def _text(var: Var | None) -> str:
    return var.text() if var is not None else ""


def _id(var: Var | None, subtype: Var | None, what: str) -> str:
    """A MAC address as aa:bb:..., a network address as an IP, anything else as text."""
    if var is None:
        return ""
    kind = subtype.number() if subtype is not None else None
    if isinstance(var.value, bytes):
        if kind == MAC_SUBTYPES[what] and len(var.value) == 6:
            return ":".join(f"{b:02x}" for b in var.value)
        if kind == NETWORK_SUBTYPES[what] and var.value:
            return _inet(var.value[0], var.value[1:]) or var.text()
    return var.text()
