"""Who is cut off, and by whom: one alarm for an outage, not one per dependant.

A device's ``depends_on`` names one group of upstream devices. The device is cut off
when *every* device of the group is down or itself cut off (a redundant pair fails only
together). The roots of a cut-off device are the down devices above it that are not
cut off themselves: they carry the alarm, the dependants are suppressed under them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


class Topology:
    """Cut-off and root answers for one set of down devices; memoised, cycle-safe."""

    def __init__(self, depends: Mapping[str, tuple[str, ...]], down: Collection[str]) -> None:
        self._depends = depends
        self._down = frozenset(down)
        self._cut: dict[str, bool] = {}
        self._roots: dict[str, tuple[str, ...]] = {}

    def is_cut_off(self, device: str) -> bool:
        return self._cut_off(device, frozenset())

    def roots(self, device: str) -> tuple[str, ...]:
        """The down, not cut-off devices that explain why ``device`` is cut off.

        Empty when it is not cut off, and also when only a cycle of down devices
        "explains" it: then nobody would carry the alarm, so the device carries its own.
        """
        return self._roots_of(device, frozenset())

    def _roots_of(self, device: str, visiting: frozenset[str]) -> tuple[str, ...]:
        if device in self._roots:
            return self._roots[device]
        found: set[str] = set()
        if self.is_cut_off(device):
            inner = visiting | {device}
            for upstream in self._depends.get(device, ()):
                if upstream in inner:
                    continue
                if self.is_cut_off(upstream):
                    found.update(self._roots_of(upstream, inner))
                elif upstream in self._down:
                    found.add(upstream)
        result = tuple(sorted(found))
        if not visiting:
            self._roots[device] = result
        return result

    def _cut_off(self, device: str, visiting: frozenset[str]) -> bool:
        if device in self._cut:
            return self._cut[device]
        group = self._depends.get(device, ())
        if not group or device in visiting:
            # A cycle (the inventory check refuses them) must not recurse forever.
            return False
        inner = visiting | {device}
        result = all(u in self._down or self._cut_off(u, inner) for u in group)
        self._cut[device] = result
        return result
