"""The values an SNMP inspection received, as text an engineer reads like ``snmpwalk -On``.

A ticket's snapshot carries this next to the parsed samples, so the engineer sees what
the device itself said (a fan's raw status code, an odd sysDescr) before arriving. It is
cut at :data:`weibao.observation.RAW_TEXT_LIMIT`: on a 400-port switch the interface
tables alone exceed it, and the samples already hold every port's state.
"""

from __future__ import annotations

from collector.snmp.oid import format_oid
from collector.snmp.snapshot import Kind, Snapshot, Var
from weibao.observation import RAW_TEXT_LIMIT

_TYPE = {
    Kind.integer: "INTEGER",
    Kind.counter32: "Counter32",
    Kind.gauge32: "Gauge32",
    Kind.counter64: "Counter64",
    Kind.ticks: "Timeticks",
}


def render_value(var: Var) -> str:
    if var.kind in _TYPE:
        return f"{_TYPE[var.kind]}: {var.number()}"
    if var.kind is Kind.octets and isinstance(var.value, bytes):
        if var.value.isascii() and all(32 <= b < 127 or b in (9, 10, 13) for b in var.value):
            return f'STRING: "{var.value.decode("ascii")}"'
        return "Hex-STRING: " + var.value.hex(" ").upper()
    if var.kind is Kind.oid:
        return f"OID: .{var.text()}"
    if var.kind is Kind.ip and isinstance(var.value, bytes) and len(var.value) == 4:
        return "IpAddress: " + ".".join(str(b) for b in var.value)
    if var.kind is Kind.missing:
        return "No Such Instance currently exists at this OID"
    if var.kind is Kind.end:
        return "No more variables left in this MIB View"
    if var.kind is Kind.null:
        return "NULL"
    return f"{var.kind.value}: {var.text()}"


def render(snap: Snapshot, limit: int = RAW_TEXT_LIMIT) -> str:
    """One ``.OID = TYPE: value`` line per value, in OID order, cut near ``limit``."""
    lines: list[str] = []
    size = 0
    items = list(snap.subtree((1,)))  # every OID: they all start with 1 (iso)
    for done, (suffix, var) in enumerate(items):
        line = f".1.{format_oid(suffix)} = {render_value(var)}"
        size += len(line) + 1
        if size > limit - 80:
            lines.append(f"… {len(items) - done} more values not kept")
            break
        lines.append(line)
    return "\n".join(lines)
