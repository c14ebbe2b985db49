"""Read snmpsim ``.snmprec`` recordings (``OID|TYPE|VALUE`` lines) into a Snapshot.

Used by the unit tests to run every reader against real device recordings without a
network, and usable by the demo lab. Type codes follow snmpsim: 2 integer, 4 string,
5 null, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque,
70 Counter64; a trailing ``x`` means the value is hex.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from collector.snmp.oid import Oid, parse_oid
from collector.snmp.snapshot import Kind, Snapshot, Var

_KINDS = {
    "2": Kind.integer,
    "4": Kind.octets,
    "5": Kind.null,
    "6": Kind.oid,
    "64": Kind.ip,
    "65": Kind.counter32,
    "66": Kind.gauge32,
    "67": Kind.ticks,
    "68": Kind.opaque,
    "70": Kind.counter64,
}


class RecordingError(ValueError):
    """A line that is not ``OID|TYPE|VALUE``; the message names the file and line."""


def parse_line(line: str) -> tuple[Oid, Var]:
    oid_text, tag, value = line.split("|", 2)
    hexed = tag.endswith("x")
    kind = _KINDS.get(tag.removesuffix("x").split(":")[0])
    if kind is None:
        raise ValueError(f"unknown type code {tag!r}")
    raw: bytes | None = _unhex(value) if hexed else None
    if kind in (Kind.octets, Kind.opaque):
        return parse_oid(oid_text), Var(kind, raw if raw is not None else value.encode())
    if kind is Kind.ip:
        packed = raw if raw is not None else ipaddress.IPv4Address(value).packed
        return parse_oid(oid_text), Var(kind, packed)
    if kind is Kind.oid:
        text = raw.decode() if raw is not None else value
        return parse_oid(oid_text), Var(kind, parse_oid(text) if text.strip(".") else ())
    if kind is Kind.null:
        return parse_oid(oid_text), Var(kind, None)
    number = int.from_bytes(raw, "big") if raw is not None else int(value)
    return parse_oid(oid_text), Var(kind, number)


def _unhex(value: str) -> bytes:
    # A few recordings hold an odd number of hex digits; pad the last nibble as
    # pyasn1 (and so snmpsim) does.
    value = value.strip()
    return bytes.fromhex(value + "0" if len(value) % 2 else value)


def load_snmprec(path: Path) -> Snapshot:
    items = []
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        try:
            items.append(parse_line(line))
        except ValueError as exc:
            raise RecordingError(f"{path}:{number}: {exc}") from None
    return Snapshot(items)
