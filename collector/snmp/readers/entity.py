"""ENTITY-MIB names and ENTITY-SENSOR-MIB sensors: temperatures and optical power.

The sensor table layout (type, scale, precision, value, status) is shared by the
standard ENTITY-SENSOR-MIB and Cisco's older CISCO-ENTITY-SENSOR-MIB, so a profile lists
which tables to read (the *entry*, ``…1.1.1.1`` for Cisco, whose columns are numbered
under it). Each temperature is labelled with its entPhysicalName.

Optical power (the transceiver's DOM): sensors of the profile's dBm type (CISCO's
``dBm(14)``; the standard MIB has none) whose name says receive or transmit power give
``optic_rx_power_dbm`` / ``optic_tx_power_dbm``, labelled with the interface the
transceiver sits in: the nearest entity up the containment tree that ENTITY-MIB's alias
table maps to an ifIndex, or whose name is an interface's ifDescr or ifName. Where the
agent has Cisco's threshold table (``…9.9.91.1.2.1.1``), the lowest "less than" limit of
the highest severity is the low-alarm threshold: ``optic_rx_power_low`` is 1 below it.
The same table gives each temperature the device's own limits:
``temperature_over_threshold`` is 1 once a minor(10) "greater than" limit is reached, 2
once a major(20) or critical(30) one is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field

from collector.driver import Depth
from collector.snmp.oid import Oid, OidText, format_index
from collector.snmp.readers.base import ENT_NAME, EntityIndex, Options, ReadContext, Reading
from collector.snmp.snapshot import Snapshot

ENTITY_SENSOR: Oid = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
ENT_CONTAINED_IN: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 4)
ENT_ALIAS: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 3, 2, 1, 2)  # entAliasMappingIdentifier
IF_INDEX: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
IF_DESCR: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_NAME: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
CELSIUS = 8
SENSOR_OK = 1
UNITS_SCALE = 9  # entPhySensorScale "units": 10^0
LESS_THAN = (1, 2)  # entSensorThresholdRelation lessThan(1), lessOrEqual(2)
GREATER = {3: float.__gt__, 4: float.__ge__}  # greaterThan(3), greaterOrEqual(4)
MINOR, MAJOR = 10, 20  # CISCO-ENTITY-SENSOR-MIB CSensorThresholdSeverity; other(1) is neither
_RX = re.compile(r"(?i)\b(rx|receive)\b.*\bpower\b")
_TX = re.compile(r"(?i)\b(tx|transmit)\b.*\bpower\b")


class EntityOptions(Options):
    sensor_tables: list[OidText] = Field(
        default_factory=lambda: [ENTITY_SENSOR],
        description="entries laid out as entPhySensorEntry (type, scale, precision, value, status)",
    )
    dbm_type: int | None = Field(
        default=None, description="the sensor type that means dBm (CISCO-ENTITY-SENSOR-MIB: 14)"
    )
    threshold_table: OidText | None = Field(
        default=None,
        description="entry laid out as entSensorThresholdEntry (2 severity, 3 relation, 4 value)",
    )


class EntityReader:
    name = "entity"
    needs_entities = True

    def __init__(self, options: EntityOptions | None = None) -> None:
        self.options = options or EntityOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        oids = [(*table, col) for table in self.options.sensor_tables for col in (1, 2, 3, 4, 5)]
        if self.options.dbm_type is not None:
            oids += [ENT_CONTAINED_IN, ENT_ALIAS, IF_DESCR, IF_NAME]
        if self.options.threshold_table is not None:
            oids += [(*self.options.threshold_table, col) for col in (2, 3, 4)]
        return oids

    def read(self, ctx: ReadContext) -> Reading:
        reading = Reading()
        for table in self.options.sensor_tables:
            self._read_table(table, ctx.snapshot, ctx.entities, reading)
        return reading

    def _read_table(self, table: Oid, snap: Snapshot, entities: EntityIndex, out: Reading) -> None:
        kinds, scales, precisions, values, status = (
            snap.column((*table, col)) for col in (1, 2, 3, 4, 5)
        )
        interfaces: _Interfaces | None = None
        for row, kind in kinds.items():
            value = values.get(row)
            if value is None or value.number() is None:
                continue
            state = status.get(row)
            if state is not None and state.number() != SENSOR_OK:
                continue  # unavailable or non-operational: its value means nothing
            scale = (scales[row].number() if row in scales else None) or UNITS_SCALE
            precision = (precisions[row].number() if row in precisions else None) or 0
            entity = entities.get(row)
            name = entity.name if entity else f"sensor {format_index(row)}"
            reading = _scaled(value.number() or 0, scale, precision)
            if kind.number() == CELSIUS:
                out.add("temperature_celsius", reading, sensor=name)
                reached = self._limits_reached(snap, row, reading, scale, precision)
                if reached is not None:
                    out.add("temperature_over_threshold", float(reached), sensor=name)
            elif self.options.dbm_type is not None and kind.number() == self.options.dbm_type:
                direction = "rx" if _RX.search(name) else "tx" if _TX.search(name) else None
                if direction is None or len(row) != 1:
                    continue
                interfaces = interfaces or _Interfaces(snap)
                port = interfaces.of_entity(row[0])
                if not port:
                    continue
                out.add(f"optic_{direction}_power_dbm", round(reading, 6), interface=port)
                low = self._low_alarm(snap, row)
                if direction == "rx" and low is not None:
                    limit = _scaled(low, scale, precision)
                    out.add("optic_rx_power_low", float(reading < limit), interface=port)

    def _limits_reached(
        self, snap: Snapshot, row: Oid, reading: float, scale: int, precision: int
    ) -> int | None:
        """0, 1 (a minor high limit reached) or 2 (major/critical); None without limits."""
        table = self.options.threshold_table
        if table is None:
            return None
        severities = snap.column((*table, 2))
        relations, values = snap.column((*table, 3)), snap.column((*table, 4))
        level: int | None = None
        for index, relation in relations.items():
            compare = GREATER.get(relation.number() or 0)
            severity, value = severities.get(index), values.get(index)
            if index[: len(row)] != row or compare is None or severity is None or value is None:
                continue
            grade = (
                2 if (severity.number() or 0) >= MAJOR else 1 if severity.number() == MINOR else 0
            )
            if not grade or value.number() is None:
                continue
            limit = _scaled(value.number() or 0, scale, precision)
            level = max(level or 0, grade if compare(reading, limit) else 0)
        return level

    def _low_alarm(self, snap: Snapshot, row: Oid) -> int | None:
        """The raw low-alarm limit of a sensor: its most severe "less than" threshold."""
        table = self.options.threshold_table
        if table is None:
            return None
        severities = snap.column((*table, 2))
        relations, values = snap.column((*table, 3)), snap.column((*table, 4))
        best: tuple[int, int] | None = None
        for index, relation in relations.items():
            if index[: len(row)] != row or relation.number() not in LESS_THAN:
                continue
            severity, value = severities.get(index), values.get(index)
            if severity is None or value is None or value.number() is None:
                continue
            candidate = (severity.number() or 0, value.number() or 0)
            if best is None or candidate > best:
                best = candidate
        return best[1] if best is not None else None


def _scaled(raw: int, scale: int, precision: int) -> float:
    """entPhySensorValue in its unit: 10^(3 * (scale - units)) / 10^precision."""
    return float(raw) * 10.0 ** (3 * (scale - UNITS_SCALE)) / 10.0**precision


class _Interfaces:
    """Which interface an entity (a transceiver, a sensor in one) belongs to."""

    def __init__(self, snap: Snapshot) -> None:
        self.parent = {
            row[0]: var.number() or 0 for row, var in snap.column(ENT_CONTAINED_IN).items()
        }
        self.alias: dict[int, int] = {}
        for row, var in snap.column(ENT_ALIAS).items():
            target = var.oid()
            if target is not None and target[: len(IF_INDEX)] == IF_INDEX and len(target) > 10:
                self.alias.setdefault(row[0], target[len(IF_INDEX)])
        descrs = {row[0]: v.text() for row, v in snap.column(IF_DESCR).items() if len(row) == 1}
        names = {row[0]: v.text() for row, v in snap.column(IF_NAME).items() if len(row) == 1}
        self.name = {i: names.get(i) or descrs.get(i, "") for i in set(descrs) | set(names)}
        self.by_text = {t: i for table in (descrs, names) for i, t in table.items() if t}
        self.entity_names = {row[0]: v.text() for row, v in snap.column(ENT_NAME).items()}

    def of_entity(self, index: int) -> str:
        seen: set[int] = set()
        while index and index not in seen:
            seen.add(index)
            if index in self.alias:
                return self.name.get(self.alias[index], "")
            by_name = self.by_text.get(self.entity_names.get(index, "").strip())
            if by_name is not None:
                return self.name.get(by_name, "")
            index = self.parent.get(index, 0)
        return ""
