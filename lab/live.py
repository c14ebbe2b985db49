"""A device's OID table as it answers at a given moment: sorted for GETNEXT walks, with
uptime, traffic counters and elapsed times computed at request time.

A table is rebuilt whenever a fault changes the device; counters carry over from the
table before, so a port that goes down stops counting instead of jumping back to zero
(which the collector would rightly read as a counter reset).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from lab.mibs import Counter, Elapsed, Entry, Kind, Oid, Uptime, Value

TICKS_WRAP = 2**32


class LiveTable:
    def __init__(self, entries: Mapping[Oid, Entry], now: float, before: LiveTable | None = None):
        self._entries = dict(entries)
        self._oids = sorted(self._entries)
        # Counter state: (value at t, t); Elapsed state: since when.
        self._counters: dict[Oid, tuple[float, float]] = {}
        self._since: dict[Oid, float] = {}
        for oid, entry in self._entries.items():
            if isinstance(entry, Counter):
                carried = before.counter_at(oid, now) if before is not None else None
                self._counters[oid] = (carried if carried is not None else 0.0, now)
            elif isinstance(entry, Elapsed):
                since = before.since(oid) if before is not None else None
                self._since[oid] = since if since is not None else now

    def __len__(self) -> int:
        return len(self._oids)

    def counter_at(self, oid: Oid, now: float) -> float | None:
        """A counter's (unwrapped) value at ``now``, or None if ``oid`` is no counter here."""
        state = self._counters.get(oid)
        entry = self._entries.get(oid)
        if state is None or not isinstance(entry, Counter):
            return None
        value, t = state
        return value + entry.per_second * max(0.0, now - t)

    def since(self, oid: Oid) -> float | None:
        return self._since.get(oid)

    def get(self, oid: Oid, now: float) -> Value | None:
        entry = self._entries.get(oid)
        return None if entry is None else self._value(oid, entry, now)

    def next(self, oid: Oid, now: float) -> tuple[Oid, Value] | None:
        """The first OID after ``oid`` and its value (GETNEXT), or None at the end."""
        i = bisect.bisect_right(self._oids, oid)
        if i >= len(self._oids):
            return None
        found = self._oids[i]
        return found, self._value(found, self._entries[found], now)

    def _value(self, oid: Oid, entry: Entry, now: float) -> Value:
        if isinstance(entry, Value):
            return entry
        if isinstance(entry, Uptime):
            return Value(Kind.ticks, int(max(0.0, now - entry.boot) * 100) % TICKS_WRAP)
        if isinstance(entry, Elapsed):
            return Value(Kind.integer, int(max(0.0, now - self._since[oid])))
        value = self.counter_at(oid, now) or 0.0
        kind = Kind.counter64 if entry.bits == 64 else Kind.counter32
        return Value(kind, int(value) % 2**entry.bits)
