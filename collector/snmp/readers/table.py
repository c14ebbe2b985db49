"""Vendor health as data: one profile ``metrics`` entry turns a table column into samples.

This is how a user adds a vendor without writing code (see docs/collector.md). Each row
of the column becomes one sample, labelled from templates (``{index}``, ``{index[0]}``,
``{entity}`` for the row's entPhysicalName, ``{descr}`` for a text column of the same
table, ``{state}`` for the name ``states`` gives the value), or the rows are folded into
one unlabelled sample (``aggregate: max``). Values are scaled, mapped from enumerations
(rows whose value is not in ``map`` are skipped: "not present" is not "failed"), named
by ``states`` (value 1, the name as a label, for rules that read a state as text),
compared with a threshold column of the same row (``above``: a fan's reading over its
lower limit; ``below``: a receive power under its low-alarm threshold; ``thresholds``: how
many of the device's own limits, warning then critical, a reading has reached), or
computed as a ratio of two of ``used``, ``free`` and ``total``. Some agents write numbers
as text (FortiGate's sensor readings): ``from_text`` reads them. ``only`` keeps the rows
whose other column holds one of some values (an optic that is present), and
``{ifname}`` names a row indexed by ifIndex as the interfaces reader does (ifName, else
ifDescr), so a rule can join the two.

An OID ending in ``.0`` is a scalar instance and is read with GET; any other OID is a
column and is walked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from statistics import fmean
from typing import Literal

from pydantic import Field, model_validator

from collector.driver import Depth
from collector.snmp.oid import Oid, OidText, format_index
from collector.snmp.readers.base import ENTITY_CLASSES, Options, ReadContext, Reading
from collector.snmp.snapshot import Snapshot, Var

EntityClass = Literal[
    "other",
    "unknown",
    "chassis",
    "backplane",
    "container",
    "powerSupply",
    "fan",
    "sensor",
    "module",
    "port",
    "stack",
    "cpu",
]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KNOWN = re.compile(r"^(index|index\[\d+\]|entity|descr|state|ifname)$")
IF_DESCR: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_NAME: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
_FOLD: dict[str, Callable[[list[float]], float]] = {
    "max": max,
    "min": min,
    "mean": fmean,
    "sum": sum,
}


def is_scalar(oid: Oid) -> bool:
    return oid[-1] == 0


class RowFilter(Options):
    """Keep the rows whose ``column`` (same index) holds one of the values ``in``."""

    column: OidText
    in_: list[int] = Field(alias="in", min_length=1)


class MetricSpec(Options):
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="the sample name")
    column: OidText | None = None
    used: OidText | None = None
    total: OidText | None = None
    free: OidText | None = None
    scale: float = 1.0
    map: dict[int, float] | None = None
    states: dict[int, str] | None = Field(
        default=None, description="enumeration -> name: value 1, the name in {state}"
    )
    above: OidText | None = Field(
        default=None, description="1 while the value is above this column's (same row), else 0"
    )
    below: OidText | None = Field(
        default=None, description="1 while the value is below this column's (same row), else 0"
    )
    thresholds: list[OidText] | None = Field(
        default=None,
        description="columns of the device's own limits, lowest first: the value is how "
        "many of them the reading has reached (0, 1 = warning, 2 = critical)",
    )
    only: RowFilter | None = Field(
        default=None, description="keep rows whose other column holds one of some values"
    )
    from_text: bool = Field(default=False, description="numbers written as text: '51.569'")
    ignore: list[int] = Field(default_factory=list, description="raw values that mean absent")
    labels: dict[str, str] = Field(default_factory=dict)
    descr: OidText | None = Field(default=None, description="a text column for {descr}")
    entity_class: list[EntityClass] = Field(default_factory=list)
    entity_name: re.Pattern[str] | None = None
    descr_match: re.Pattern[str] | None = Field(
        default=None, description="keep rows whose `descr` text matches"
    )
    aggregate: Literal["max", "min", "mean", "sum"] | None = None

    @model_validator(mode="after")
    def _shape(self) -> MetricSpec:
        operands = [f for f in ("used", "free", "total") if getattr(self, f) is not None]
        if (self.column is None) == (len(operands) != 2) or (self.column and operands):
            raise ValueError(
                "a metric reads either `column`, or two of `used`, `free` and `total` (a ratio)"
            )
        valued = [
            f
            for f in ("map", "states", "above", "below", "thresholds")
            if getattr(self, f) is not None
        ]
        if len(valued) > 1 or (valued and self.column is None):
            raise ValueError(
                "`map`, `states`, `above`, `below` and `thresholds` each give a `column` its "
                "value: use one of them"
            )
        if self.aggregate and self.labels:
            raise ValueError("`aggregate` folds rows into one unlabelled sample: drop `labels`")
        for template in self.labels.values():
            for field in _PLACEHOLDER.findall(template):
                if not _KNOWN.match(field):
                    raise ValueError(
                        f"unknown placeholder {{{field}}} in label {template!r}: use "
                        "{index}, {index[0]}, {entity}, {descr}, {state} or {ifname}"
                    )
                if field == "descr" and self.descr is None:
                    raise ValueError("{descr} in a label needs `descr:` (a text column)")
                if field == "state" and self.states is None:
                    raise ValueError("{state} in a label needs `states:` (value -> name)")
        if self.descr_match is not None and self.descr is None:
            raise ValueError("`descr_match` needs `descr:` (a text column)")
        return self

    @property
    def uses_entities(self) -> bool:
        in_labels = any("{entity}" in t for t in self.labels.values())
        return in_labels or bool(self.entity_class) or self.entity_name is not None

    @property
    def uses_ifnames(self) -> bool:
        return any("{ifname}" in t for t in self.labels.values())

    def oids(self) -> list[Oid]:
        columns = (
            self.column,
            self.used,
            self.total,
            self.free,
            self.above,
            self.below,
            self.descr,
            *(self.thresholds or ()),
            self.only.column if self.only else None,
        )
        names = (IF_NAME, IF_DESCR) if self.uses_ifnames else ()
        return [o for o in (*columns, *names) if o]


class TableMetricReader:
    """One MetricSpec as a reader."""

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        self.name = f"metric {spec.name}"
        self.needs_entities = spec.uses_entities

    def gets(self) -> Sequence[Oid]:
        return [o for o in self.spec.oids() if is_scalar(o)]

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return [o for o in self.spec.oids() if not is_scalar(o)]

    def read(self, ctx: ReadContext) -> Reading:
        spec = self.spec
        snap = ctx.snapshot

        def rows(oid: Oid | None) -> dict[Oid, Var]:
            if oid is None:
                return {}
            if is_scalar(oid):
                var = snap.get(oid)
                return {(): var} if var is not None else {}
            return snap.column(oid)

        main = rows(spec.column or spec.used or spec.free)
        compared = (spec.used, spec.free, spec.total, spec.above, spec.below)
        others = {o: rows(o) for o in (*compared, *(spec.thresholds or ())) if o}
        descrs = rows(spec.descr)
        kept = rows(spec.only.column) if spec.only else {}
        ifnames = _ifnames(snap) if spec.uses_ifnames else {}
        values: list[float] = []
        reading = Reading()
        for row, var in main.items():
            value = self._value(row, var, others)
            if value is None or not self._keep(row, ctx, descrs.get(row)):
                continue
            if spec.only is not None and _number(kept.get(row), False) not in spec.only.in_:
                continue
            if spec.aggregate:
                values.append(value)
                continue
            state = self._state(var)
            labels = {
                k: self._label(t, row, ctx, descrs.get(row), state, ifnames)
                for k, t in spec.labels.items()
            }
            reading.add(spec.name, value, **labels)
        if values and spec.aggregate:
            reading.add(spec.name, float(_FOLD[spec.aggregate](values)))
        return reading

    def _value(self, row: Oid, var: Var, others: Mapping[Oid, dict[Oid, Var]]) -> float | None:
        spec = self.spec
        raw = _number(var, spec.from_text)
        if raw is None or raw in spec.ignore:
            return None
        if spec.column is None:
            return self._ratio(row, others)
        if spec.above is not None:
            limit = self._limit(others[spec.above].get(row))
            return None if limit is None else float(raw > limit)
        if spec.below is not None:
            limit = self._limit(others[spec.below].get(row))
            return None if limit is None else float(raw < limit)
        if spec.thresholds is not None:
            limits = [self._limit(others[o].get(row)) for o in spec.thresholds]
            known = [limit for limit in limits if limit is not None]
            return float(sum(raw >= limit for limit in known)) if known else None
        if spec.states is not None:
            return 1.0 if raw in spec.states else None
        if spec.map is not None:
            return spec.map.get(int(raw)) if raw == int(raw) else None
        return round(raw * spec.scale, 12)  # 47 * 0.01 is 0.47, not 0.47000000000000003

    def _limit(self, var: Var | None) -> float | None:
        """A threshold of the same row; one the device marks as unknown (``ignore``) is none."""
        limit = _number(var, self.spec.from_text)
        return None if limit is None or limit in self.spec.ignore else limit

    def _ratio(self, row: Oid, others: Mapping[Oid, dict[Oid, Var]]) -> float | None:
        """used / total, with the missing one of the three from the other two."""
        spec = self.spec
        used, free, total = (
            _number(others[o].get(row), spec.from_text) if o is not None else None
            for o in (spec.used, spec.free, spec.total)
        )
        if total is None and used is not None and free is not None:
            total = used + free
        if used is None and total is not None and free is not None:
            used = total - free
        if used is None or total is None or total <= 0:
            return None
        return min(max(used / total, 0.0), 1.0)

    def _state(self, var: Var) -> str:
        raw = _number(var, self.spec.from_text)
        if self.spec.states is None or raw is None or raw != int(raw):
            return ""
        return self.spec.states.get(int(raw), "")

    def _keep(self, row: Oid, ctx: ReadContext, descr: Var | None) -> bool:
        spec = self.spec
        if spec.descr_match is not None and not (
            descr is not None and spec.descr_match.search(descr.text())
        ):
            return False
        if not spec.entity_class and spec.entity_name is None:
            return True
        entity = ctx.entities.get(row)
        if entity is None:
            return False
        if spec.entity_class and entity.klass not in {ENTITY_CLASSES[c] for c in spec.entity_class}:
            return False
        return spec.entity_name is None or bool(spec.entity_name.search(entity.name))

    def _label(
        self,
        template: str,
        row: Oid,
        ctx: ReadContext,
        descr: Var | None,
        state: str,
        ifnames: Mapping[Oid, str],
    ) -> str:
        def fill(match: re.Match[str]) -> str:
            field = match.group(1)
            if field == "state":
                return state
            if field == "ifname":
                return ifnames.get(row[:1], "") or f"ifIndex {format_index(row)}"
            if field == "index":
                return format_index(row)
            if field.startswith("index["):
                position = int(field[6:-1])
                return str(row[position]) if position < len(row) else ""
            if field == "entity":
                entity = ctx.entities.get(row)
                return entity.name if entity else format_index(row)
            return descr.text() if descr is not None else format_index(row)

        return _PLACEHOLDER.sub(fill, template).strip()


def _ifnames(snap: Snapshot) -> dict[Oid, str]:
    """ifIndex -> the name the interfaces reader gives it (ifName, else ifDescr)."""
    names = {row: var.text() for row, var in snap.column(IF_DESCR).items() if var.text()}
    names.update({row: var.text() for row, var in snap.column(IF_NAME).items() if var.text()})
    return names


def _number(var: Var | None, from_text: bool) -> float | None:
    """A numeric varbind, or with ``from_text`` a number written as text; else None."""
    if var is None:
        return None
    number = var.number()
    if number is not None or not from_text:
        return number
    try:
        value = float(var.text())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
