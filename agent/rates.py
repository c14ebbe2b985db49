"""Per-second rates from two readings of counters that only grow.

A counter that went down was reset (a reboot, a driver reload, a wrapped 32-bit counter,
an interface recreated under the same name): the rate over that interval is unknowable,
so it is left out rather than reported negative or as a huge spike. The next interval
has a rate again.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Rates(Generic[K]):
    def __init__(self) -> None:
        self._last: dict[K, float] = {}
        self._when: float | None = None

    def update(self, counters: Mapping[K, float], now: float) -> dict[K, float]:
        """Rates since the previous call; keys seen for the first time have none.

        Only the latest reading is kept, so a disk or interface that went away is
        forgotten.
        """
        rates: dict[K, float] = {}
        if self._when is not None and now > self._when:
            elapsed = now - self._when
            for key, value in counters.items():
                last = self._last.get(key)
                if last is not None and value >= last:
                    rates[key] = (value - last) / elapsed
        self._last = dict(counters)
        self._when = now
        return rates
