"""Vendor health as data: one profile ``metrics`` entry turns a table column into samples.

This is how a user adds a vendor without writing code (see docs/collector.md). Each row
of the column becomes one sample, labelled from templates (``{index}``, ``{index[0]}``,
``{entity}`` for the row's entPhysicalName, ``{descr}`` for a text column of the same
table), or the rows are folded into one unlabelled sample (``aggregate: max``). Values
are scaled, mapped from enumerations (rows whose value is not in ``map`` are skipped:
"not present" is not "failed"), or computed as a ratio of two columns.

An OID ending in ``.0`` is a scalar instance and is read with GET; any other OID is a
column and is walked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from statistics import fmean
from typing import Literal

from pydantic import Field, model_validator

from collector.driver import Depth
from collector.snmp.oid import Oid, OidText, format_index
from collector.snmp.readers.base import ENTITY_CLASSES, Options, ReadContext, Reading
from collector.snmp.snapshot import Var

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
_KNOWN = re.compile(r"^(index|index\[\d+\]|entity|descr)$")
_FOLD: dict[str, Callable[[list[float]], float]] = {
    "max": max,
    "min": min,
    "mean": fmean,
    "sum": sum,
}


def is_scalar(oid: Oid) -> bool:
    return oid[-1] == 0


class MetricSpec(Options):
    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="the sample name")
    column: OidText | None = None
    used: OidText | None = None
    total: OidText | None = None
    free: OidText | None = None
    scale: float = 1.0
    map: dict[int, float] | None = None
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
        if (self.column is None) == (self.used is None):
            raise ValueError("a metric reads either `column` or `used` (with `total` or `free`)")
        if self.used is not None and (self.total is None) == (self.free is None):
            raise ValueError("`used` needs exactly one of `total` or `free`")
        if self.aggregate and self.labels:
            raise ValueError("`aggregate` folds rows into one unlabelled sample: drop `labels`")
        for template in self.labels.values():
            for field in _PLACEHOLDER.findall(template):
                if not _KNOWN.match(field):
                    raise ValueError(
                        f"unknown placeholder {{{field}}} in label {template!r}: use "
                        "{index}, {index[0]}, {entity} or {descr}"
                    )
                if field == "descr" and self.descr is None:
                    raise ValueError("{descr} in a label needs `descr:` (a text column)")
        if self.descr_match is not None and self.descr is None:
            raise ValueError("`descr_match` needs `descr:` (a text column)")
        return self

    @property
    def uses_entities(self) -> bool:
        in_labels = any("{entity}" in t for t in self.labels.values())
        return in_labels or bool(self.entity_class) or self.entity_name is not None

    def oids(self) -> list[Oid]:
        return [o for o in (self.column, self.used, self.total, self.free, self.descr) if o]


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

        main = rows(spec.column or spec.used)
        other = rows(spec.total or spec.free)
        descrs = rows(spec.descr)
        values: list[float] = []
        reading = Reading()
        for row, var in main.items():
            value = self._value(var, other.get(row))
            if value is None or not self._keep(row, ctx, descrs.get(row)):
                continue
            if spec.aggregate:
                values.append(value)
                continue
            labels = {k: self._label(t, row, ctx, descrs.get(row)) for k, t in spec.labels.items()}
            reading.add(spec.name, value, **labels)
        if values and spec.aggregate:
            reading.add(spec.name, float(_FOLD[spec.aggregate](values)))
        return reading

    def _value(self, var: Var, other: Var | None) -> float | None:
        spec = self.spec
        raw = var.number()
        if raw is None or raw in spec.ignore:
            return None
        if spec.used is not None:
            second = other.number() if other is not None else None
            if second is None:
                return None
            total = second if spec.total is not None else raw + second
            return min(max(raw / total, 0.0), 1.0) if total > 0 else None
        if spec.map is not None:
            mapped = spec.map.get(raw)
            return None if mapped is None else mapped
        return round(raw * spec.scale, 12)  # 47 * 0.01 is 0.47, not 0.47000000000000003

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

    def _label(self, template: str, row: Oid, ctx: ReadContext, descr: Var | None) -> str:
        def fill(match: re.Match[str]) -> str:
            field = match.group(1)
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
