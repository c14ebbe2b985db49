"""IF-MIB: names, admin and oper status, speed, and the counters that become rates.

Octets come from the 64-bit ifHC counters where the agent has them (a 1 Gbit/s port
wraps its 32-bit counter in 34 s, faster than most polls) and from the 32-bit ones
otherwise. Each interface's ifCounterDiscontinuityTime is passed along as a
discontinuity marker: when it changes, that interface's counters were reset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field

from collector.driver import Depth
from collector.snmp.counters import CounterReading
from collector.snmp.oid import Oid, format_index
from collector.snmp.readers.base import Options, ReadContext, Reading
from collector.snmp.snapshot import COUNTER_WIDTH, Var

IF_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)

IF_DESCR, IF_TYPE, IF_SPEED, IF_ADMIN, IF_OPER = ((*IF_ENTRY, c) for c in (2, 3, 5, 7, 8))
IF_IN_OCTETS, IF_IN_DISCARDS, IF_IN_ERRORS = ((*IF_ENTRY, c) for c in (10, 13, 14))
IF_OUT_OCTETS, IF_OUT_DISCARDS, IF_OUT_ERRORS = ((*IF_ENTRY, c) for c in (16, 19, 20))
IF_NAME, IF_HC_IN, IF_HC_OUT = ((*IFX_ENTRY, c) for c in (1, 6, 10))
IF_HIGH_SPEED, IF_ALIAS, IF_DISCONTINUITY = ((*IFX_ENTRY, c) for c in (15, 18, 19))

COLUMNS = (
    IF_DESCR,
    IF_TYPE,
    IF_SPEED,
    IF_ADMIN,
    IF_OPER,
    IF_IN_OCTETS,
    IF_IN_DISCARDS,
    IF_IN_ERRORS,
    IF_OUT_OCTETS,
    IF_OUT_DISCARDS,
    IF_OUT_ERRORS,
    IF_NAME,
    IF_HC_IN,
    IF_HC_OUT,
    IF_HIGH_SPEED,
    IF_ALIAS,
    IF_DISCONTINUITY,
)

MIN_FRAME_BITS = 84 * 8  # smallest Ethernet frame on the wire, preamble and gap included
SLACK = 1.5  # counters are sampled, not timed exactly: allow bursts above line rate
UNKNOWN_SPEED_PPS = 2e8  # ~100 Gbit/s of minimum-size frames


class InterfacesOptions(Options):
    ignore_types: list[int] = Field(
        default_factory=lambda: [24], description="ifType values to skip (24: loopback)"
    )
    ignore_names: list[re.Pattern[str]] = Field(default_factory=list)
    alias_label: bool = Field(default=True, description="add ifAlias as an `alias` label")
    default_alias: list[re.Pattern[str]] = Field(
        default_factory=list,
        description="descriptions the vendor fills in itself: not the customer's, no `alias`",
    )


class InterfacesReader:
    name = "interfaces"
    needs_entities = False

    def __init__(self, options: InterfacesOptions | None = None) -> None:
        self.options = options or InterfacesOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return COLUMNS

    def read(self, ctx: ReadContext) -> Reading:
        snap = ctx.snapshot
        cols = {col: snap.column(col) for col in COLUMNS}
        reading = Reading()
        used: set[str] = set()
        for row in sorted(set(cols[IF_DESCR]) | set(cols[IF_NAME]) | set(cols[IF_OPER])):
            kind = _number(cols[IF_TYPE].get(row))
            if kind is not None and kind in self.options.ignore_types:
                continue
            name = _text(cols[IF_NAME].get(row)) or _text(cols[IF_DESCR].get(row))
            name = name or f"ifIndex {format_index(row)}"
            if any(p.search(name) for p in self.options.ignore_names):
                continue
            if name in used:  # some agents repeat names; keep every interface apart
                name = f"{name} #{format_index(row)}"
            used.add(name)
            labels = {"interface": name}
            alias = _text(cols[IF_ALIAS].get(row))
            if alias and self.options.alias_label and not self._default_alias(alias, row, cols):
                labels["alias"] = alias
            self._read_row(row, cols, labels, reading)
        return reading

    def _default_alias(self, alias: str, row: Oid, cols: dict[Oid, dict[Oid, Var]]) -> bool:
        """A description nobody wrote: the port's own name, with or without " Interface"
        (Comware, and VRP's "HUAWEI, AR Series, GigabitEthernet0/0/1 Interface"), or one
        the profile lists as the vendor's default."""
        names = {_text(cols[IF_NAME].get(row)), _text(cols[IF_DESCR].get(row))} - {""}
        folded = alias.casefold()
        for name in names:
            if folded == name.casefold() or folded.endswith(f"{name} interface".casefold()):
                return True
        return any(p.search(alias) for p in self.options.default_alias)

    def _read_row(
        self, row: Oid, cols: dict[Oid, dict[Oid, Var]], labels: dict[str, str], out: Reading
    ) -> None:
        oper = _number(cols[IF_OPER].get(row))
        if oper is not None and oper != 4:  # 4: unknown
            out.add("interface_up", 1.0 if oper == 1 else 0.0, **labels)
        admin = _number(cols[IF_ADMIN].get(row))
        if admin is not None:
            out.add("interface_admin_up", 1.0 if admin == 1 else 0.0, **labels)
        speed = _speed(cols[IF_SPEED].get(row), cols[IF_HIGH_SPEED].get(row))
        if speed:
            out.add("interface_speed_bits", speed, **labels)
        marker = _number(cols[IF_DISCONTINUITY].get(row))
        pps = SLACK * speed / MIN_FRAME_BITS if speed else UNKNOWN_SPEED_PPS
        byte_rate = SLACK * speed / 8 if speed else None
        for direction in ("in", "out"):
            tagged = {**labels, "direction": direction}
            for sample, column in PACKET_COUNTERS[direction]:
                var = cols[column].get(row)
                out.add_counter(_counter(sample, tagged, var, marker, max_rate=pps))
            hc, low = OCTET_COUNTERS[direction]
            octets = cols[hc].get(row) or cols[low].get(row)
            out.add_counter(_counter("interface_bits_rate", tagged, octets, marker, 8.0, byte_rate))
            if speed:
                utilization = _counter(
                    "interface_utilization_ratio", tagged, octets, marker, 8.0 / speed, byte_rate
                )
                out.add_counter(utilization)


PACKET_COUNTERS = {
    "in": (("interface_errors_rate", IF_IN_ERRORS), ("interface_discards_rate", IF_IN_DISCARDS)),
    "out": (
        ("interface_errors_rate", IF_OUT_ERRORS),
        ("interface_discards_rate", IF_OUT_DISCARDS),
    ),
}
OCTET_COUNTERS = {"in": (IF_HC_IN, IF_IN_OCTETS), "out": (IF_HC_OUT, IF_OUT_OCTETS)}


def _number(var: Var | None) -> int | None:
    return var.number() if var is not None else None


def _text(var: Var | None) -> str:
    return var.text() if var is not None else ""


def _speed(speed: Var | None, high: Var | None) -> float:
    """bits/s: ifHighSpeed (Mbit/s) when set, since ifSpeed tops out at 4.29 Gbit/s."""
    mbits = _number(high)
    if mbits:
        return mbits * 1e6
    return float(_number(speed) or 0)


def _counter(
    name: str,
    labels: dict[str, str],
    var: Var | None,
    marker: int | None,
    scale: float = 1.0,
    max_rate: float | None = None,
) -> CounterReading | None:
    if var is None or var.kind not in COUNTER_WIDTH or not isinstance(var.value, int):
        return None
    return CounterReading(name, labels, var.value, COUNTER_WIDTH[var.kind], scale, max_rate, marker)
