"""Render a lab device into the OID table its real agent would answer with.

Pure: devices in, ``{oid: entry}`` out, no pysnmp (the agent in :mod:`lab.snmp_agent`
converts). Each template lays out the vendor tables that the collector's profiles
(``collector/profiles/*.yaml``) read, with the same numbering and enumerations, so the
lab exercises the real profiles: a port down is ifOperStatus down(2) under ifAdminStatus
up(1); a failed Huawei power module is hwEntityOperStatus disabled(2); a UPS on battery
is upsOutputSource battery(5).

Entries that change with time (uptime, traffic counters, seconds on battery) are
:class:`Uptime`, :class:`Counter` and :class:`Elapsed`; :mod:`lab.live` computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lab.model import ENTITY_CLASSES, IF_TYPES, Host, Interface, LabDevice, Ups

Oid = tuple[int, ...]


class Kind(StrEnum):
    """SNMP types, by their snmprec codes."""

    integer = "2"
    octets = "4"
    oid = "6"
    ip = "64"
    counter32 = "65"
    gauge32 = "66"
    ticks = "67"
    counter64 = "70"


@dataclass(frozen=True)
class Value:
    kind: Kind
    value: int | str | Oid


@dataclass(frozen=True)
class Counter:
    """A counter growing by ``per_second`` from the moment it appears (wraps at ``bits``)."""

    per_second: float
    bits: int = 64


@dataclass(frozen=True)
class Uptime:
    """sysUpTime: hundredths of a second since ``boot`` (a wall-clock time)."""

    boot: float


@dataclass(frozen=True)
class Elapsed:
    """Whole seconds since the entry first appeared (upsSecondsOnBattery)."""


Entry = Value | Counter | Uptime | Elapsed
Table = dict[Oid, Entry]


def oid(text: str) -> Oid:
    return tuple(int(p) for p in text.strip(".").split("."))


def integer(n: int) -> Value:
    return Value(Kind.integer, n)


def text(s: str) -> Value:
    return Value(Kind.octets, s)


def gauge(n: int) -> Value:
    return Value(Kind.gauge32, n)


# -- SNMPv2-MIB system group ---------------------------------------------------------------

SYSTEM = oid("1.3.6.1.2.1.1")


def render_system(device: LabDevice, boot: float, table: Table) -> None:
    s = device.system
    assert s is not None  # the model requires it of SNMP devices
    table[(*SYSTEM, 1, 0)] = text(s.descr)
    table[(*SYSTEM, 2, 0)] = Value(Kind.oid, oid(s.object_id))
    table[(*SYSTEM, 3, 0)] = Uptime(boot)
    table[(*SYSTEM, 4, 0)] = text(s.contact)
    table[(*SYSTEM, 5, 0)] = text(device.name)
    table[(*SYSTEM, 6, 0)] = text(s.location)
    table[(*SYSTEM, 7, 0)] = integer(6 if device.template in ("huawei-vrp", "h3c-comware") else 72)


# -- IF-MIB --------------------------------------------------------------------------------

IF_NUMBER = oid("1.3.6.1.2.1.2.1.0")
IF_ENTRY = oid("1.3.6.1.2.1.2.2.1")
IFX_ENTRY = oid("1.3.6.1.2.1.31.1.1.1")


def interface_indexes(device: LabDevice) -> dict[str, int]:
    """ifIndex per interface: as written, else counting up past the highest one."""
    out: dict[str, int] = {}
    taken = {i.index for i in device.interfaces.values() if i.index is not None}
    counter = 0
    for name, port in device.interfaces.items():
        if port.index is not None:
            out[name] = port.index
            continue
        counter += 1
        while counter in taken:
            counter += 1
        out[name] = counter
    return out


def render_interfaces(device: LabDevice, table: Table) -> None:
    if not device.interfaces:
        return
    indexes = interface_indexes(device)
    table[IF_NUMBER] = integer(len(indexes))
    for name, port in device.interfaces.items():
        i = indexes[name]
        _render_port(name, i, port, table)


def _render_port(name: str, i: int, port: Interface, table: Table) -> None:
    bits = port.speed * 1_000_000
    flowing = port.admin_up and port.up
    rate_in = port.load * bits / 8 if flowing else 0.0
    rate_out = rate_in * 0.6

    def col(c: int) -> Oid:
        return (*IF_ENTRY, c, i)

    def xcol(c: int) -> Oid:
        return (*IFX_ENTRY, c, i)

    table[col(1)] = integer(i)
    table[col(2)] = text(name)
    table[col(3)] = integer(IF_TYPES[port.type])
    table[col(4)] = integer(1500)
    table[col(5)] = gauge(min(bits, 2**32 - 1))
    table[col(6)] = text("")
    table[col(7)] = integer(1 if port.admin_up else 2)
    table[col(8)] = integer(1 if port.admin_up and port.up else 2)
    table[col(9)] = Value(Kind.ticks, 0)
    table[col(10)] = Counter(rate_in, 32)
    table[col(11)] = Counter(rate_in / 800, 32)
    table[col(13)] = Value(Kind.counter32, 0)
    table[col(14)] = Value(Kind.counter32, 0)
    table[col(16)] = Counter(rate_out, 32)
    table[col(17)] = Counter(rate_out / 800, 32)
    table[col(19)] = Value(Kind.counter32, 0)
    table[col(20)] = Value(Kind.counter32, 0)
    table[xcol(1)] = text(name)
    table[xcol(6)] = Counter(rate_in, 64)
    table[xcol(10)] = Counter(rate_out, 64)
    table[xcol(15)] = gauge(port.speed)
    table[xcol(18)] = text(port.alias)
    table[xcol(19)] = Value(Kind.ticks, 0)


# -- ENTITY-MIB ----------------------------------------------------------------------------

ENT_PHYSICAL = oid("1.3.6.1.2.1.47.1.1.1.1")


@dataclass(frozen=True)
class Board:
    """An ENTITY-MIB row with what the vendor tables say about it."""

    index: int
    name: str
    kind: str
    descr: str = ""
    model: str = ""
    serial: str = ""
    cpu: int | None = None
    memory: int | None = None
    temperature: int | None = None
    ok: bool = True


def boards(device: LabDevice) -> list[Board]:
    """Entities as written, then (Huawei) one per power supply: VRP lists its power
    modules in ENTITY-MIB and gives their state in hwEntityStateTable."""
    out = [
        Board(i, name, e.kind, e.descr, e.model, e.serial, e.cpu, e.memory, e.temperature)
        for i, (name, e) in enumerate(device.entities.items(), start=1)
    ]
    if device.template == "huawei-vrp":
        for name, psu in device.power_supplies.items():
            out.append(Board(len(out) + 1, name, "power_supply", name, ok=psu.ok))
    return out


def render_entities(rows: list[Board], table: Table) -> None:
    for b in rows:
        for column, value in (
            (2, text(b.descr or b.name)),
            (4, integer(0 if b.kind == "chassis" else 1)),  # entPhysicalContainedIn
            (5, integer(ENTITY_CLASSES[b.kind])),
            (7, text(b.name)),
            (11, text(b.serial)),
            (13, text(b.model)),
        ):
            table[(*ENT_PHYSICAL, column, b.index)] = value


# -- vendor tables -------------------------------------------------------------------------

HW_ENTITY_STATE = oid("1.3.6.1.4.1.2011.5.25.31.1.1.1.1")  # HUAWEI-ENTITY-EXTENT-MIB
HW_FAN_STATE = oid("1.3.6.1.4.1.2011.5.25.31.1.1.10.1.7")
HH3C_ENTITY_EXT = oid("1.3.6.1.4.1.25506.2.6.1.1.1.1")  # HH3C-ENTITY-EXT-MIB
HH3C_FAN_STATUS = oid("1.3.6.1.4.1.25506.8.35.9.1.1.1.2")  # HH3C-LswDEVM-MIB
HH3C_POWER_STATUS = oid("1.3.6.1.4.1.25506.8.35.9.1.2.1.2")


def render_huawei(device: LabDevice, rows: list[Board], table: Table) -> None:
    for b in rows:
        # hwEntityOperStatus: enabled(3) / disabled(2); the profile reads it for power.
        table[(*HW_ENTITY_STATE, 2, b.index)] = integer(3 if b.ok else 2)
        for column, figure in ((5, b.cpu), (7, b.memory), (11, b.temperature)):
            table[(*HW_ENTITY_STATE, column, b.index)] = integer(figure or 0)
    for name, fan in device.fans.items():
        slot, number = (int(p) for p in name.split("/"))
        table[(*HW_FAN_STATE, slot, number)] = integer(1 if fan.ok else 2)  # normal / abnormal


def render_h3c(device: LabDevice, rows: list[Board], table: Table) -> None:
    for b in rows:
        for column, figure in ((6, b.cpu), (8, b.memory), (12, b.temperature)):
            table[(*HH3C_ENTITY_EXT, column, b.index)] = integer(figure or 0)
    for name, fan in device.fans.items():
        table[(*HH3C_FAN_STATUS, int(name))] = integer(1 if fan.ok else 2)  # active / deactive
    for name, psu in device.power_supplies.items():
        table[(*HH3C_POWER_STATUS, int(name))] = integer(1 if psu.ok else 2)


# -- HOST-RESOURCES-MIB --------------------------------------------------------------------

HR_STORAGE = oid("1.3.6.1.2.1.25.2.3.1")
HR_TYPES = oid("1.3.6.1.2.1.25.2.1")
HR_PROCESSOR_LOAD = oid("1.3.6.1.2.1.25.3.3.1.2")
HR_MEMORY_SIZE = oid("1.3.6.1.2.1.25.2.2.0")


def _units(size: int) -> int:
    """An allocation unit that keeps hrStorageSize within Integer32, as agents do."""
    unit = 4096
    while size // unit >= 2**31:
        unit *= 2
    return unit


def render_host(host: Host, table: Table) -> None:
    for cpu in range(host.cpus):
        table[(*HR_PROCESSOR_LOAD, 196608 + cpu)] = integer(host.cpu)
    table[HR_MEMORY_SIZE] = integer(host.memory.size // 1024)
    rows = [(2, "Physical memory", host.memory.size, host.memory.used)]
    if host.swap is not None:
        rows.append((3, "Swap space", host.swap.size, host.swap.used))
    rows += [(4, mount, fs.size, fs.used) for mount, fs in host.filesystems.items()]
    for index, (kind, descr, size, used) in enumerate(rows, start=1):
        unit = _units(size)
        table[(*HR_STORAGE, 1, index)] = integer(index)
        table[(*HR_STORAGE, 2, index)] = Value(Kind.oid, (*HR_TYPES, kind))
        table[(*HR_STORAGE, 3, index)] = text(descr)
        table[(*HR_STORAGE, 4, index)] = integer(unit)
        table[(*HR_STORAGE, 5, index)] = integer(size // unit)
        table[(*HR_STORAGE, 6, index)] = integer(round(size * used) // unit)


# -- UPS-MIB (RFC 1628) and Eaton's XUPS-MIB -----------------------------------------------

UPS = oid("1.3.6.1.2.1.33.1")
UPS_WELL_KNOWN = oid("1.3.6.1.2.1.33.1.6.3")
ALARM_BATTERY_BAD, ALARM_ON_BATTERY, ALARM_LOW_BATTERY = ((*UPS_WELL_KNOWN, n) for n in (1, 2, 3))
XUPS = oid("1.3.6.1.4.1.534.1")
BATTERY_STATUS = {"normal": 2, "low": 3, "depleted": 4}


def render_ups(ups: Ups, table: Table) -> None:
    ident = (*UPS, 1)
    table[(*ident, 1, 0)] = text(ups.manufacturer)
    table[(*ident, 2, 0)] = text(ups.model)
    table[(*ident, 3, 0)] = text(ups.software)
    table[(*ident, 4, 0)] = text(ups.software)
    battery = (*UPS, 2)
    table[(*battery, 1, 0)] = integer(BATTERY_STATUS[ups.battery_status])
    table[(*battery, 2, 0)] = Elapsed() if ups.on_battery else integer(0)
    table[(*battery, 3, 0)] = integer(ups.minutes_remaining)
    table[(*battery, 4, 0)] = integer(ups.charge)
    table[(*battery, 5, 0)] = integer(545 if ups.on_battery else 552)  # 0.1 V
    table[(*battery, 7, 0)] = integer(ups.battery_temperature)
    table[(*UPS, 3, 2, 0)] = integer(1)  # upsInputNumLines
    table[(*UPS, 3, 3, 1, 2, 1)] = integer(0 if ups.on_battery else 500)  # 0.1 Hz
    table[(*UPS, 3, 3, 1, 3, 1)] = integer(0 if ups.on_battery else 228)  # V
    output = (*UPS, 4)
    table[(*output, 1, 0)] = integer(5 if ups.on_battery else 3)  # battery(5) / normal(3)
    table[(*output, 2, 0)] = integer(500)
    table[(*output, 3, 0)] = integer(len(ups.load))
    for line, load in enumerate(ups.load, start=1):
        table[(*output, 4, 1, 2, line)] = integer(230)
        table[(*output, 4, 1, 5, line)] = integer(load)
    alarms = [a for a, on in _alarms(ups) if on]
    table[(*UPS, 6, 1, 0)] = gauge(len(alarms))
    for n, alarm in enumerate(alarms, start=1):
        table[(*UPS, 6, 2, 1, 2, n)] = Value(Kind.oid, alarm)
        table[(*UPS, 6, 2, 1, 3, n)] = Value(Kind.ticks, 0)
    table[(*XUPS, 1, 1, 0)] = text(ups.manufacturer)
    table[(*XUPS, 1, 2, 0)] = text(ups.model)
    table[(*XUPS, 1, 3, 0)] = text(ups.software)
    table[(*XUPS, 1, 6, 0)] = text(ups.serial)
    table[(*XUPS, 2, 7, 0)] = integer(1 if ups.battery_bad else 2)  # xupsBatteryFailure
    if ups.ambient_temperature is not None:
        table[(*XUPS, 6, 1, 0)] = integer(ups.ambient_temperature)


def _alarms(ups: Ups) -> list[tuple[Oid, bool]]:
    low = ups.battery_status != "normal"
    return [
        (ALARM_BATTERY_BAD, ups.battery_bad),
        (ALARM_ON_BATTERY, ups.on_battery),
        (ALARM_LOW_BATTERY, low),
    ]


# -- the whole device ----------------------------------------------------------------------


def render(device: LabDevice, boot: float) -> Table:
    """Everything the device's SNMP agent answers, by template."""
    table: Table = {}
    render_system(device, boot, table)
    render_interfaces(device, table)
    rows = boards(device)
    render_entities(rows, table)
    if device.template == "huawei-vrp":
        render_huawei(device, rows, table)
    elif device.template == "h3c-comware":
        render_h3c(device, rows, table)
    if device.host is not None and device.template == "host-resources":
        render_host(device.host, table)
    if device.ups is not None:
        render_ups(device.ups, table)
    return table
