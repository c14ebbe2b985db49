"""What the traps of each device have said so far: bounded, and saved across restarts.

The rule engine judges a sample only when an observation carries it, and clears a
series that its source stops reporting while still reporting the sample's name (an
unmounted disk). Traps arrive one at a time, so every trap observation of a device
carries the device's whole trap state: a linkDown on port 2 must not read as "port 1
is gone". Hence this memory:

- **state** samples (``trap_link_up``, ``trap_alarm``) keep their last value per
  identity (the vocabulary labels: which interface, which alarm and object). One that
  returns to its normal value is reported once more, so its alarm clears, then forgotten.
- **event** samples (``trap_auth_failures``) count the traps of the last ``window``
  seconds; a count that fell to 0 is reported once, then forgotten.

:meth:`TrapState.due` names the devices to report again without a new trap: those with
a fault younger than ``hold`` (so rules with ``for:`` see it again), and those whose
event counts changed as time passed. Memory is bounded per device (``max_series``
series, ``max_times`` timestamps per event), and devices come only from the inventory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from collector.traps.catalog import STATE_NORMAL
from collector.traps.mapping import Effects
from weibao.observation import Sample
from weibao.vocabulary import BY_NAME

Key = tuple[str, tuple[str, ...]]
STATE_VERSION = 1


@dataclass
class _State:
    labels: dict[str, str]
    value: float
    changed: float


@dataclass
class _Event:
    labels: dict[str, str]
    times: deque[float]
    reported: int = -1  # the count last reported; -1: never


@dataclass
class _Device:
    states: dict[Key, tuple[str, _State]] = field(default_factory=dict)
    events: dict[Key, tuple[str, _Event]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.states) + len(self.events)


class TrapState:
    def __init__(
        self,
        window: float = 3600.0,
        hold: float = 600.0,
        max_series: int = 256,
        max_times: int = 1000,
    ) -> None:
        self.window = window
        self.hold = hold
        self.max_series = max_series
        self.max_times = max_times
        self.evicted = 0
        self._devices: dict[str, _Device] = {}

    def __len__(self) -> int:
        return len(self._devices)

    def apply(self, device: str, effects: Effects, now: float) -> None:
        """Record what one trap said about ``device``."""
        if not effects.states and not effects.events:
            return
        mem = self._devices.setdefault(device, _Device())
        for sample in effects.states:
            key = _state_key(sample)
            current = mem.states.get(key)
            if current is not None and current[1].value == sample.value:
                current[1].labels = dict(sample.labels)  # keep when it changed, not re-sent
                continue
            self._make_room(mem, key)
            mem.states[key] = (sample.name, _State(dict(sample.labels), sample.value, now))
        for sample in effects.events:
            key = (sample.name, tuple(f"{k}={v}" for k, v in sorted(sample.labels.items())))
            found = mem.events.get(key)
            if found is None:
                self._make_room(mem, key)
                found = (sample.name, _Event(dict(sample.labels), deque(maxlen=self.max_times)))
                mem.events[key] = found
            found[1].times.append(now)

    def snapshot(self, device: str, now: float) -> list[Sample]:
        """Every trap sample of ``device`` now; what is back to normal is then forgotten."""
        mem = self._devices.get(device)
        if mem is None:
            return []
        self._expire(mem, now)
        out = [Sample(name=n, labels=s.labels, value=s.value) for n, s in mem.states.values()]
        out += [
            Sample(name=n, labels=e.labels, value=float(len(e.times)))
            for n, e in mem.events.values()
        ]
        for key, (name, state) in list(mem.states.items()):
            if state.value == STATE_NORMAL[name]:
                del mem.states[key]
        for key, (_, event) in list(mem.events.items()):
            event.reported = len(event.times)
            if not event.times:
                del mem.events[key]
        if not mem:
            del self._devices[device]
        return sorted(out, key=lambda s: (s.name, sorted(s.labels.items())))

    def due(self, now: float) -> list[str]:
        """Devices whose trap samples should be reported again now, without a new trap."""
        out = []
        for device, mem in self._devices.items():
            self._expire(mem, now)
            young = any(
                s.value != STATE_NORMAL[n] and now - s.changed < self.hold
                for n, s in mem.states.values()
            )
            moved = any(len(e.times) != e.reported for _, e in mem.events.values())
            if young or moved:
                out.append(device)
        return out

    def _expire(self, mem: _Device, now: float) -> None:
        for _, event in mem.events.values():
            while event.times and event.times[0] <= now - self.window:
                event.times.popleft()

    def _make_room(self, mem: _Device, key: Key) -> None:
        """At the bound, the series changed longest ago gives way (counted in ``evicted``)."""
        if key in mem.states or key in mem.events or len(mem) < self.max_series:
            return
        ages = [(s.changed, "s", k) for k, (_, s) in mem.states.items()]
        ages += [(e.times[-1] if e.times else 0.0, "e", k) for k, (_, e) in mem.events.items()]
        _, kind, oldest = min(ages)
        if kind == "s":
            del mem.states[oldest]
        else:
            del mem.events[oldest]
        self.evicted += 1

    # -- persistence ---------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        devices: dict[str, Any] = {}
        for device, mem in self._devices.items():
            devices[device] = {
                "states": [[n, s.labels, s.value, s.changed] for n, s in mem.states.values()],
                "events": [[n, e.labels, list(e.times)] for n, e in mem.events.values()],
            }
        return {"version": STATE_VERSION, "devices": devices}

    def load(self, data: Any, devices: set[str]) -> int:
        """Restore a :meth:`dump` for the devices still in the inventory; entries that do
        not fit today's vocabulary are skipped. Returns the number of series restored."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return 0
        restored = 0
        for device, saved in (data.get("devices") or {}).items():
            if device not in devices or not isinstance(saved, dict):
                continue
            effects = Effects()
            for name, labels, value, changed in saved.get("states", []):
                if name in STATE_NORMAL:
                    effects.states = [Sample(name=name, labels=labels, value=value)]
                    self.apply(device, effects, float(changed))
                    restored += 1
            for name, labels, times in saved.get("events", []):
                effects.states = []
                effects.events = [Sample(name=name, labels=labels, value=1.0)]
                for when in times[-self.max_times :]:
                    self.apply(device, effects, float(when))
                restored += 1
        return restored


def _state_key(sample: Sample) -> Key:
    spec = BY_NAME.get(sample.name)
    identity = spec.labels if spec is not None else tuple(sorted(sample.labels))
    return sample.name, tuple(sample.labels.get(label, "") for label in identity)
