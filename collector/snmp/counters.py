"""Rates from two counter samples, never negative and never absurd.

A counter only means something as a difference. Between two inspections of one device:

- **wrap**: a Counter32 that went down wrapped at 2^32 (a busy 1 Gbit/s port's octet
  counter wraps every 34 s); the difference is taken modulo 2^32, but only when the
  result is plausible (below half the range and below ``max_rate``): otherwise the
  counter was reset, and no rate is given. A Counter64 never wraps in practice, so one
  that went down was reset;
- **restart**: sysUpTime that went back means the agent restarted and every counter
  started again from zero: all rates are skipped once and the baselines replaced;
- **discontinuity**: a reader may pass a marker (ifCounterDiscontinuityTime) whose
  change means that one counter was reset; that counter's rate is skipped;
- **elapsed time** comes from the ``now`` the caller passes in (the scheduler's clock),
  so tests need no sleeping; two samples closer than ``min_interval`` give no rate.

A skipped rate is absent, never 0: "unknown" must not look like "no errors".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from weibao.observation import Sample

Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class CounterReading:
    """One counter as read; ``name``/``labels`` are those of the rate sample it becomes."""

    name: str
    labels: dict[str, str]
    value: int
    width: int = 32  # 32 or 64 bits
    scale: float = 1.0  # e.g. 8 to turn octets into bits
    max_rate: float | None = None  # in the counter's own unit per second
    marker: int | None = None  # a discontinuity marker; a change skips this rate

    @property
    def key(self) -> Key:
        return self.name, tuple(sorted(self.labels.items()))


@dataclass
class _Previous:
    time: datetime
    uptime: int | None
    values: dict[Key, CounterReading] = field(default_factory=dict)


@dataclass
class RateReport:
    samples: list[Sample]
    restarted: bool = False
    skipped: int = 0  # counters that gave no rate this time (wrap doubt, reset, first sample)


class CounterStore:
    """The previous sample of one device's counters (kept by the driver per device)."""

    def __init__(self, min_interval: float = 1.0) -> None:
        self.min_interval = min_interval
        self._previous: _Previous | None = None

    def update(
        self, now: datetime, uptime_ticks: int | None, readings: list[CounterReading]
    ) -> RateReport:
        """Rates since the previous call; the readings become the new baseline."""
        previous = self._previous
        current = _Previous(now, uptime_ticks, {r.key: r for r in readings})
        self._previous = current
        if previous is None:
            return RateReport([], skipped=len(readings))
        elapsed = (now - previous.time).total_seconds()
        if _restarted(previous.uptime, uptime_ticks, elapsed):
            return RateReport([], restarted=True, skipped=len(readings))
        if elapsed < self.min_interval:
            # Too close to divide by (or the clock went back): keep the older baseline.
            self._previous = previous
            return RateReport([], skipped=len(readings))
        samples: list[Sample] = []
        skipped = 0
        for key, reading in current.values.items():
            before = previous.values.get(key)
            rate = None if before is None else _rate(before, reading, elapsed)
            if rate is None:
                skipped += 1
                continue
            samples.append(Sample(name=reading.name, labels=reading.labels, value=rate))
        return RateReport(samples, skipped=skipped)


def _restarted(before: int | None, after: int | None, elapsed: float) -> bool:
    if before is None or after is None:
        return False
    if after >= before:
        # Up less than it should be since last time (with slack for clock skew): the agent
        # restarted and has been up for a while already.
        return (after - before) / 100.0 < elapsed * 0.5 - 5
    # sysUpTime is a 32-bit tick count that wraps after 497 days; a wrap leaves it small
    # right after a large value, and the time it covers matches the elapsed time.
    wrapped = (after + 2**32 - before) / 100.0
    return not (before > 2**32 - 2**31 and abs(wrapped - elapsed) <= max(5.0, elapsed * 0.5))


def _rate(before: CounterReading, after: CounterReading, elapsed: float) -> float | None:
    if before.width != after.width or before.marker != after.marker:
        return None  # the agent swapped 32- for 64-bit counters, or reset this one
    delta = after.value - before.value
    if delta < 0:
        if after.width == 64:
            return None  # a 64-bit counter does not wrap between two polls: it was reset
        delta += 2**32
        if delta >= 2**31:
            return None  # more likely a reset than more than half the range in one interval
    per_second = delta / elapsed
    if after.max_rate is not None and per_second > after.max_rate:
        return None  # absurd for this counter: a reset or a misbehaving agent
    return per_second * after.scale
