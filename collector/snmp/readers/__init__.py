"""Readers turn a Snapshot into samples; a profile says which ones run on a device.

The registry is explicit: adding a standard-MIB reader means adding it here and a field
in :class:`collector.snmp.profiles.Readers`. Vendor tables need no code: they are
``metrics`` entries in a profile (:mod:`collector.snmp.readers.table`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collector.snmp.readers.base import (
    EntityIndex,
    Options,
    ReadContext,
    Reader,
    Reading,
)
from collector.snmp.readers.entity import EntityOptions, EntityReader
from collector.snmp.readers.health import (
    EntitySensorsOptions,
    EntitySensorsReader,
    EntityStateOptions,
    EntityStateReader,
    HostDevicesOptions,
    HostDevicesReader,
)
from collector.snmp.readers.host import HostResourcesOptions, HostResourcesReader
from collector.snmp.readers.interfaces import InterfacesOptions, InterfacesReader
from collector.snmp.readers.neighbors import NeighborsOptions, NeighborsReader
from collector.snmp.readers.system import SystemReader
from collector.snmp.readers.table import MetricSpec, TableMetricReader
from collector.snmp.readers.ucd import UcdOptions, UcdReader
from collector.snmp.readers.ups import UpsOptions, UpsReader

# Order matters where two readers measure the same thing: the first sample wins
# (UCD's memory, which knows buffers and cache, before hrStorage's).
READERS: dict[str, Callable[[Any], Reader]] = {
    "interfaces": InterfacesReader,
    "ucd": UcdReader,
    "host_resources": HostResourcesReader,
    "entity": EntityReader,
    "ups": UpsReader,
    "neighbors": NeighborsReader,
    "entity_sensors": EntitySensorsReader,
    "entity_state": EntityStateReader,
    "host_devices": HostDevicesReader,
}

__all__ = [
    "READERS",
    "EntityIndex",
    "EntityOptions",
    "EntitySensorsOptions",
    "EntityStateOptions",
    "HostDevicesOptions",
    "HostResourcesOptions",
    "InterfacesOptions",
    "MetricSpec",
    "NeighborsOptions",
    "Options",
    "ReadContext",
    "Reader",
    "Reading",
    "SystemReader",
    "TableMetricReader",
    "UcdOptions",
    "UpsOptions",
]
