"""ENTITY-MIB names and ENTITY-SENSOR-MIB temperatures.

The sensor table layout (type, scale, precision, value, status) is shared by the
standard ENTITY-SENSOR-MIB and Cisco's older CISCO-ENTITY-SENSOR-MIB, so a profile lists
which tables to read; each sensor is labelled with its entPhysicalName.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from collector.driver import Depth
from collector.snmp.oid import Oid, OidText, format_index
from collector.snmp.readers.base import EntityIndex, Options, ReadContext, Reading
from collector.snmp.snapshot import Snapshot

ENTITY_SENSOR: Oid = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
CELSIUS = 8
SENSOR_OK = 1
UNITS_SCALE = 9  # entPhySensorScale "units": 10^0


class EntityOptions(Options):
    sensor_tables: list[OidText] = Field(
        default_factory=lambda: [ENTITY_SENSOR],
        description="entries laid out as entPhySensorEntry (type, scale, precision, value, status)",
    )


class EntityReader:
    name = "entity"
    needs_entities = True

    def __init__(self, options: EntityOptions | None = None) -> None:
        self.options = options or EntityOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return [(*table, col) for table in self.options.sensor_tables for col in (1, 2, 3, 4, 5)]

    def read(self, ctx: ReadContext) -> Reading:
        reading = Reading()
        for table in self.options.sensor_tables:
            self._read_table(table, ctx.snapshot, ctx.entities, reading)
        return reading

    def _read_table(self, table: Oid, snap: Snapshot, entities: EntityIndex, out: Reading) -> None:
        kinds, scales, precisions, values, status = (
            snap.column((*table, col)) for col in (1, 2, 3, 4, 5)
        )
        for row, kind in kinds.items():
            value = values.get(row)
            if kind.number() != CELSIUS or value is None or value.number() is None:
                continue
            state = status.get(row)
            if state is not None and state.number() != SENSOR_OK:
                continue  # unavailable or non-operational: its value means nothing
            scale = scales[row].number() if row in scales else UNITS_SCALE
            precision = precisions[row].number() if row in precisions else 0
            celsius = float(value.number() or 0) * 10.0 ** (3 * ((scale or UNITS_SCALE) - 9))
            celsius /= 10.0 ** (precision or 0)
            entity = entities.get(row)
            name = entity.name if entity else f"sensor {format_index(row)}"
            out.add("temperature_celsius", celsius, sensor=name)
