"""Health any device may report through standard MIBs, for boxes no vendor profile knows.

- :class:`EntitySensorsReader`: ENTITY-SENSOR-MIB (RFC 3433) and Cisco's table of the
  same layout. Fan speeds (``fan_speed_rpm``, and ``fan_ok`` from the sensor's status),
  voltages, currents and power; every sensor's own status as ``sensor_ok``: 0 when the
  agent calls it nonoperational, or when a threshold the device itself sets
  (CISCO-ENTITY-SENSOR-MIB entSensorThresholdTable, major or critical) is crossed.
  Temperatures stay with the ``entity`` reader; optical power (dBm) with the
  transceiver readings.
- :class:`EntityStateReader`: ENTITY-STATE-MIB (RFC 4268). A power supply or fan that
  is disabled or raises a critical or major alarm is ``power_supply_ok``/``fan_ok`` 0;
  other hardware (chassis, modules, CPUs) ``component_ok``. What the administrator
  locked is not a fault and gives no sample.
- :class:`HostDevicesReader`: HOST-RESOURCES-MIB hrDeviceTable: processors, disks and
  memory devices whose status is warning or down. Network devices are left out (a
  cable pulled is the interfaces' business).

Sensors and entities are labelled with entPhysicalName (else entPhysicalDescr).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from collector.driver import Depth
from collector.snmp.oid import Oid, OidText, format_index
from collector.snmp.readers.base import ENTITY_CLASSES, Options, ReadContext, Reading
from collector.snmp.snapshot import Snapshot, Var

ENTITY_SENSOR: Oid = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
CISCO_SENSOR: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 1, 1, 1)  # entSensorValueEntry
CISCO_THRESHOLD: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 2, 1, 1)
ENT_STATE: Oid = (1, 3, 6, 1, 2, 1, 131, 1, 1, 1)
HR_DEVICE: Oid = (1, 3, 6, 1, 2, 1, 25, 3, 2, 1)
HR_DEVICE_TYPES: Oid = (1, 3, 6, 1, 2, 1, 25, 3, 1)

# EntitySensorDataType
# (celsius(8) is the entity reader's temperature_celsius)
VOLTS_AC, VOLTS_DC, AMPERES, WATTS, RPM, DBM = 3, 4, 5, 6, 10, 14
VALUE_SAMPLES = {
    VOLTS_AC: "voltage_volts",
    VOLTS_DC: "voltage_volts",
    AMPERES: "current_amperes",
    WATTS: "power_watts",
}
SENSOR_OK, SENSOR_UNAVAILABLE, SENSOR_NONOPERATIONAL = 1, 2, 3
UNITS = 9  # EntitySensorDataScale units: 10^0
# entSensorThresholdSeverity: other(1) minor(10) major(20) critical(30); only major and
# critical mean the reading is out of its safe range (minor is the device's warning).
MAJOR = 20
TRUE = 1


class EntitySensorsOptions(Options):
    sensor_tables: list[OidText] = Field(
        default_factory=lambda: [ENTITY_SENSOR],
        description="entries laid out as entPhySensorEntry (type, scale, precision, value, status)",
    )
    thresholds: bool = Field(
        default=True, description="read CISCO-ENTITY-SENSOR-MIB thresholds where present"
    )


class EntitySensorsReader:
    name = "entity_sensors"
    needs_entities = True

    def __init__(self, options: EntitySensorsOptions | None = None) -> None:
        self.options = options or EntitySensorsOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        walks = [(*t, c) for t in self.options.sensor_tables for c in (1, 2, 3, 4, 5)]
        if self.options.thresholds:
            walks += [(*CISCO_THRESHOLD, c) for c in (2, 5)]  # severity, evaluation
        return walks

    def read(self, ctx: ReadContext) -> Reading:
        reading = Reading()
        crossed = _crossed(ctx.snapshot) if self.options.thresholds else set()
        seen: set[int] = set()
        for table in self.options.sensor_tables:
            self._read_table(table, ctx, crossed, seen, reading)
        return reading

    def _read_table(
        self, table: Oid, ctx: ReadContext, crossed: set[int], seen: set[int], out: Reading
    ) -> None:
        snap = ctx.snapshot
        kinds, scales, precisions, values, states = (
            snap.column((*table, col)) for col in (1, 2, 3, 4, 5)
        )
        for row, kind_var in kinds.items():
            kind = kind_var.number()
            if kind is None or kind == DBM or len(row) != 1 or row[0] in seen:
                continue
            seen.add(row[0])  # the standard table first; Cisco's repeats the same sensors
            entity = ctx.entities.get(row)
            name = entity.name if entity else f"sensor {format_index(row)}"
            state_var = states.get(row)
            state = state_var.number() if state_var is not None else SENSOR_OK
            if state not in (SENSOR_OK, SENSOR_NONOPERATIONAL):
                continue  # unavailable: the reading means nothing, and it is no fault
            ok = float(state == SENSOR_OK and row[0] not in crossed)
            value = _scaled(values.get(row), scales.get(row), precisions.get(row))
            if kind == RPM:
                out.add("fan_ok", ok, fan=name)
                if value is not None and state == SENSOR_OK:
                    out.add("fan_speed_rpm", value, fan=name)
                continue
            out.add("sensor_ok", ok, sensor=name)
            sample = VALUE_SAMPLES.get(kind)
            if sample is not None and value is not None and state == SENSOR_OK:
                out.add(sample, value, sensor=name)


def _scaled(value: Var | None, scale: Var | None, precision: Var | None) -> float | None:
    """entPhySensorValue × 10^(3 × (scale − units)) / 10^precision."""
    number = value.number() if value is not None else None
    if number is None:
        return None
    exponent = scale.number() if scale is not None else None
    digits = precision.number() if precision is not None else None
    result = float(number) * 10.0 ** (3 * ((exponent or UNITS) - UNITS))
    return round(result / 10.0 ** (digits or 0), 6)


def _crossed(snap: Snapshot) -> set[int]:
    """entPhysicalIndex of sensors with a major or critical threshold evaluated true."""
    severity = snap.column((*CISCO_THRESHOLD, 2))
    evaluation = snap.column((*CISCO_THRESHOLD, 5))
    out = set()
    for row, var in evaluation.items():
        level = severity.get(row)
        if var.number() == TRUE and level is not None and (level.number() or 0) >= MAJOR:
            out.add(row[0])
    return out


class EntityStateOptions(Options):
    pass


# entStateAdmin locked(2); entStateOper disabled(2) enabled(3); entStateAlarm BITS with
# critical(2) and major(3), counted from the first octet's high bit.
ADMIN_LOCKED, OPER_DISABLED, OPER_ENABLED = 2, 2, 3
ALARM_CRITICAL_MAJOR = 0x20 | 0x10
KEPT_CLASSES = {
    ENTITY_CLASSES[c]: c
    for c in ("chassis", "backplane", "powerSupply", "fan", "module", "stack", "cpu")
}


class EntityStateReader:
    name = "entity_state"
    needs_entities = True

    def __init__(self, options: EntityStateOptions | None = None) -> None:
        self.options = options or EntityStateOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return [(*ENT_STATE, c) for c in (2, 3, 5)]  # admin, oper, alarm

    def read(self, ctx: ReadContext) -> Reading:
        snap = ctx.snapshot
        admin, oper, alarm = (snap.column((*ENT_STATE, c)) for c in (2, 3, 5))
        reading = Reading()
        for row, oper_var in oper.items():
            entity = ctx.entities.get(row)
            if entity is None or entity.klass not in KEPT_CLASSES:
                continue
            locked = admin.get(row)
            if locked is not None and locked.number() == ADMIN_LOCKED:
                continue
            state = oper_var.number()
            bits = alarm.get(row)
            raw = bits.value if bits is not None and isinstance(bits.value, bytes) else b""
            alarmed = bool(raw[:1] and raw[0] & ALARM_CRITICAL_MAJOR)
            if state == OPER_DISABLED or alarmed:
                value = 0.0
            elif state == OPER_ENABLED:
                value = 1.0
            else:
                continue  # unknown or testing
            klass = KEPT_CLASSES[entity.klass]
            if klass == "powerSupply":
                reading.add("power_supply_ok", value, psu=entity.name)
            elif klass == "fan":
                reading.add("fan_ok", value, fan=entity.name)
            else:
                reading.add("component_ok", value, component=entity.name)
        return reading


class HostDevicesOptions(Options):
    pass


# hrDeviceTypes: processor(3), diskStorage(6), coprocessor(12), volatileMemory(20),
# nonVolatileMemory(21); hrDeviceStatus running(2) warning(3) down(5).
DEVICE_TYPES = {(*HR_DEVICE_TYPES, n) for n in (3, 6, 12, 20, 21)}
DEVICE_STATUS = {2: 1.0, 3: 0.0, 5: 0.0}


class HostDevicesReader:
    name = "host_devices"
    needs_entities = False

    def __init__(self, options: HostDevicesOptions | None = None) -> None:
        self.options = options or HostDevicesOptions()

    def gets(self) -> Sequence[Oid]:
        return ()

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return [(*HR_DEVICE, c) for c in (2, 3, 5)]  # type, descr, status

    def read(self, ctx: ReadContext) -> Reading:
        snap = ctx.snapshot
        types, descrs, states = (snap.column((*HR_DEVICE, c)) for c in (2, 3, 5))
        reading = Reading()
        for row, status in states.items():
            kind = types.get(row)
            value = DEVICE_STATUS.get(status.number() or 0)
            if kind is None or kind.oid() not in DEVICE_TYPES or value is None:
                continue
            descr = descrs.get(row)
            name = descr.text() if descr is not None and descr.text() else format_index(row)
            reading.add("component_ok", value, component=name)
        return reading
