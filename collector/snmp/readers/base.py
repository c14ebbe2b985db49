"""What every reader shares: the context it reads from and the shape of what it returns.

A reader is data-in, samples-out: it declares the OIDs it needs (``gets`` for scalars,
``walks`` for columns and groups) and turns a :class:`Snapshot` into samples, counters
(for :mod:`collector.snmp.counters`) and identity facts. It does no I/O, so every reader
is tested against real device recordings without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from collector.driver import Depth
from collector.snmp.counters import CounterReading
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Snapshot
from weibao.observation import Sample

ENT_PHYSICAL = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
ENT_DESCR = (*ENT_PHYSICAL, 2)
ENT_CLASS = (*ENT_PHYSICAL, 5)
ENT_NAME = (*ENT_PHYSICAL, 7)

ENTITY_CLASSES = {
    "other": 1,
    "unknown": 2,
    "chassis": 3,
    "backplane": 4,
    "container": 5,
    "powerSupply": 6,
    "fan": 7,
    "sensor": 8,
    "module": 9,
    "port": 10,
    "stack": 11,
    "cpu": 12,
}


class Options(BaseModel):
    """Base of every reader's options in a profile: unknown keys are typos."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Entity:
    name: str
    klass: int  # entPhysicalClass


@dataclass
class EntityIndex:
    """ENTITY-MIB names and classes by entPhysicalIndex, for labels and filters."""

    by_index: dict[int, Entity] = field(default_factory=dict)

    WALKS = (ENT_DESCR, ENT_CLASS, ENT_NAME)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> EntityIndex:
        names = snapshot.column(ENT_NAME)
        descrs = snapshot.column(ENT_DESCR)
        classes = snapshot.column(ENT_CLASS)
        index: dict[int, Entity] = {}
        for row in set(names) | set(descrs) | set(classes):
            if len(row) != 1:
                continue
            name = names[row].text() if row in names else ""
            if not name and row in descrs:
                name = descrs[row].text()
            klass = classes[row].number() if row in classes else None
            index[row[0]] = Entity(name or f"entity {row[0]}", klass or 0)
        return cls(index)

    def get(self, row: Oid) -> Entity | None:
        return self.by_index.get(row[0]) if len(row) == 1 else None


@dataclass
class ReadContext:
    snapshot: Snapshot
    depth: Depth
    entities: EntityIndex = field(default_factory=EntityIndex)


@dataclass
class Reading:
    samples: list[Sample] = field(default_factory=list)
    counters: list[CounterReading] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)  # vendor, model, ... when known

    def add(self, name: str, value: float, **labels: str) -> None:
        self.samples.append(Sample(name=name, labels=labels, value=value))

    def add_counter(self, counter: CounterReading | None) -> None:
        if counter is not None:
            self.counters.append(counter)


class Reader(Protocol):
    name: str
    needs_entities: bool

    def gets(self) -> Sequence[Oid]: ...

    def walks(self, depth: Depth) -> Sequence[Oid]: ...

    def read(self, ctx: ReadContext) -> Reading: ...
