"""The stored series, read lazily and copied on write.

The state keeps series grouped by device (``{device: {fingerprint: series}}``) and a
small index of the topology rules' series that are not idle. One evaluation touches a
few devices, so it loads only their series, and writes back only what changed: the rest
of the state is shared, not copied or walked, whatever its size. Per call the work grows
with the observations, not with the number of open faults. The desk goes further and
hands in only the devices of a batch (see :mod:`rules.api`): :meth:`SeriesTable.dirty`
says whose series to write back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from rules.alarms import device_of
from rules.series import Series

Entry = dict[str, Any]
# (rule, device, phase, raw, t) of a topology rule's series that is not idle.
TopologyEntry = list[Any]


class SeriesTable:
    def __init__(
        self,
        stored: Mapping[str, Mapping[str, Entry]],
        topology: Mapping[str, TopologyEntry],
    ) -> None:
        self._stored = stored
        self._topology = topology
        self._loaded: dict[str, Series | None] = {}
        self._loaded_by_device: dict[str, set[str]] = defaultdict(set)

    def get(self, fp: str) -> Series | None:
        if fp in self._loaded:
            return self._loaded[fp]
        device = device_of(fp)
        entry = self._stored.get(device, {}).get(fp)
        series = None if entry is None else Series.from_dict(entry)
        self._loaded[fp] = series
        self._loaded_by_device[device].add(fp)
        return series

    def put(self, fp: str, series: Series) -> None:
        self._loaded[fp] = series
        self._loaded_by_device[series.device].add(fp)

    def forget(self, fp: str) -> None:
        self._loaded[fp] = None
        self._loaded_by_device[device_of(fp)].add(fp)

    def exists(self, fp: str) -> bool:
        if fp in self._loaded:
            return self._loaded[fp] is not None
        return fp in self._stored.get(device_of(fp), {})

    def has_rule(self, device: str, rule: str) -> bool:
        """Whether the device has a series of the rule (any phase), stored or loaded."""
        loaded = self._loaded_by_device.get(device, ())
        for fp, entry in self._stored.get(device, {}).items():
            if fp not in loaded and entry["rule"] == rule:
                return True
        return any(
            (series := self._loaded[fp]) is not None and series.rule == rule for fp in loaded
        )

    def open_on(self, device: str, rule: str) -> list[str]:
        """Fingerprints of the rule's pending or firing series on one device."""
        found: list[str] = []
        loaded = self._loaded_by_device.get(device, set())
        for fp, entry in self._stored.get(device, {}).items():
            if fp not in loaded and entry["rule"] == rule and entry["phase"] != "idle":
                found.append(fp)
        for fp in loaded:
            series = self._loaded[fp]
            if series is not None and series.rule == rule and series.phase.value != "idle":
                found.append(fp)
        return sorted(found)

    def fingerprints(self, devices: Collection[str] | None = None) -> list[str]:
        """Every series (for the sweep, which runs at most every few seconds), or those of
        ``devices``."""
        stored = self._stored if devices is None else {d: self._stored.get(d, {}) for d in devices}
        keys = {fp for entries in stored.values() for fp in entries}
        keys.update(fp for fp in self._loaded if devices is None or device_of(fp) in devices)
        return sorted(fp for fp in keys if self._loaded.get(fp, True) is not None)

    def stored_entry(self, fp: str) -> Entry | None:
        """The stored form of a series not loaded in this evaluation, else None."""
        if fp in self._loaded:
            return None
        return self._stored.get(device_of(fp), {}).get(fp)

    def topology_scan(self, rules: Collection[str]) -> Iterator[tuple[str, str, str, str, bool]]:
        """(fingerprint, rule, device, phase, raw) of every series of the given rules that
        is not idle."""
        for fp, entry in self._topology.items():
            if fp not in self._loaded:
                yield fp, entry[0], entry[1], entry[2], entry[3]
        for fp, series in self._loaded.items():
            if series is not None and series.rule in rules and series.phase.value != "idle":
                yield fp, series.rule, series.device, series.phase.value, series.raw

    def topology_t(self, fp: str) -> float | None:
        """The time of a topology series' last verdict, loaded or from the index."""
        series = self._loaded.get(fp)
        if series is not None:
            return series.t
        entry = self._topology.get(fp)
        if entry is not None and len(entry) > 4:
            return float(entry[4])
        return None

    def dirty(self) -> set[str]:
        """Devices some of whose series were loaded, created or forgotten."""
        return set(self._loaded_by_device)

    def dump(self, topology_rules: Collection[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The new ``series`` and ``topology`` sections: shared where nothing changed."""
        series: dict[str, Any] = dict(self._stored)
        topology: dict[str, Any] = dict(self._topology)
        for device, fps in self._loaded_by_device.items():
            entries = dict(series.get(device, {}))
            for fp in fps:
                loaded = self._loaded[fp]
                topology.pop(fp, None)
                if loaded is None:
                    entries.pop(fp, None)
                    continue
                entries[fp] = loaded.to_dict()
                if loaded.rule in topology_rules and loaded.phase.value != "idle":
                    topology[fp] = [
                        loaded.rule,
                        device,
                        loaded.phase.value,
                        loaded.raw,
                        loaded.t,
                    ]
            if entries:
                series[device] = entries
            else:
                series.pop(device, None)
        return series, topology
