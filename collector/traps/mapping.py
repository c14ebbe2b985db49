"""One received notification, as plain values, and what the catalog makes of it.

Pure: no socket, no pysnmp, no clock. :func:`read_trap` takes the varbinds in SNMPv2
form (pysnmp converts v1 traps), :func:`map_trap` applies the catalog. An OID the
catalog does not know is still a trap: it gives no samples, and its observation keeps
the trap OID and varbinds in meta for the device's history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from collector.snmp.oid import Oid, format_oid, is_under
from collector.snmp.snapshot import Kind, Var
from collector.traps.catalog import (
    SNMP_TRAP_COMMUNITY,
    SNMP_TRAP_OID,
    SYS_UPTIME,
    Catalog,
    LabelTemplate,
    ValueFrom,
    Varbinds,
)
from weibao.observation import Sample

MAX_VARBINDS_META = 8000  # characters of varbinds kept in meta for the ticket


@dataclass(frozen=True)
class Trap:
    """A notification from an identified device: its OID and the other varbinds."""

    oid: Oid
    varbinds: tuple[tuple[Oid, Var], ...]
    version: str  # "1", "2c" or "3"
    address: str  # the UDP source address
    inform: bool = False

    @property
    def uptime_ticks(self) -> int | None:
        for oid, var in self.varbinds:
            if oid[: len(SYS_UPTIME)] == SYS_UPTIME:
                return var.number()
        return None


@dataclass
class Effects:
    """What one trap says: measurements, state changes and events (see catalog)."""

    name: str = ""  # the catalog's name for the trap; "" when unknown
    samples: list[Sample] = field(default_factory=list)
    states: list[Sample] = field(default_factory=list)
    events: list[Sample] = field(default_factory=list)


def read_trap(
    varbinds: list[tuple[Oid, Var]], version: str, address: str, inform: bool = False
) -> Trap | None:
    """The trap in SNMPv2 form, or None when snmpTrapOID.0 is missing (not a notification).

    snmpTrapCommunity.0, which pysnmp adds when it converts a v1 trap, is dropped here:
    the community never travels further than this function.
    """
    trap_oid: Oid | None = None
    kept: list[tuple[Oid, Var]] = []
    for oid, var in varbinds:
        if oid == (*SNMP_TRAP_OID, 0):
            trap_oid = var.oid()
        elif oid == (*SNMP_TRAP_COMMUNITY, 0) or is_under(oid, SNMP_TRAP_COMMUNITY):
            continue
        else:
            kept.append((oid, var))
    if trap_oid is None:
        return None
    return Trap(trap_oid, tuple(kept), version, address, inform)


def map_trap(trap: Trap, catalog: Catalog) -> Effects:
    spec = catalog.find(trap.oid)
    if spec is None:
        return Effects()
    values = Varbinds(list(trap.varbinds), catalog)
    out = Effects(name=spec.name)
    for emit in spec.samples:
        sample = _sample(values, emit.name, emit.value, emit.labels, emit.when, emit.unless)
        if sample is not None:
            out.samples.append(sample)
    for emit in spec.state:
        sample = _sample(values, emit.name, emit.value, emit.labels, emit.when, emit.unless)
        if sample is not None:
            out.states.append(sample)
    for event in spec.events:
        sample = _sample(values, event.name, 1.0, event.labels, event.when, event.unless)
        if sample is not None:
            out.events.append(sample)
    return out


def _sample(
    values: Varbinds,
    name: str,
    value_spec: float | ValueFrom,
    labels: dict[str, LabelTemplate],
    when: dict[str, list[str]],
    unless: dict[str, list[str]],
) -> Sample | None:
    if not values.passes(when, unless):
        return None
    value = values.value(value_spec)
    if value is None:
        return None  # the varbind is missing, or its value means "nothing to say"
    rendered = {key: values.render(template) for key, template in labels.items()}
    return Sample(name=name, value=value, labels={k: v for k, v in rendered.items() if v})


def trap_meta(
    trap: Trap, effects: Effects, secrets: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Meta for the observation: what arrived, for the ticket's diagnostic snapshot.

    A varbind whose text is one of ``secrets`` (the device's community or keys: some
    devices quote the community of a failed request) is shown as ``***``.
    """
    meta = {
        "trap_oid": format_oid(trap.oid),
        "snmp_version": trap.version,
        "source_address": trap.address,
        "varbinds": varbinds_json(trap.varbinds, secrets),
    }
    if effects.name:
        meta["trap"] = effects.name
    if trap.inform:
        meta["inform"] = "true"
    return meta


def varbinds_json(
    varbinds: tuple[tuple[Oid, Var], ...], secrets: frozenset[str] = frozenset()
) -> str:
    """``[[oid, kind, value], ...]``; cut to :data:`MAX_VARBINDS_META` characters."""
    rows: list[list[str]] = []
    size = 2 + 60  # the brackets, and room for the "truncated" row
    for oid, var in varbinds:
        shown = _show(var)
        row = [format_oid(oid), var.kind.value, "***" if shown in secrets else shown]
        size += len(json.dumps(row, ensure_ascii=False)) + 2
        if size > MAX_VARBINDS_META:
            rows.append(["...", "truncated", f"{len(varbinds) - len(rows)} more"])
            break
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False)


def _show(var: Var) -> str:
    if isinstance(var.value, bytes):
        if var.kind is Kind.ip and len(var.value) == 4:
            return ".".join(str(b) for b in var.value)
        printable = var.text()
        if printable and all(c.isprintable() for c in printable):
            return printable
        return "0x" + var.value.hex()
    return var.text()
