"""Values that move: uptime from the boot time, counters that carry over a fault switch,
seconds on battery. Pure: times are passed in."""

from __future__ import annotations

from lab.live import LiveTable
from lab.mibs import Counter, Elapsed, Kind, Uptime, Value

A, B, C, D = (1, 3, 6, 1, 1), (1, 3, 6, 1, 2), (1, 3, 6, 1, 3), (1, 3, 6, 1, 4)


def test_walk_order_and_end() -> None:
    table = LiveTable({C: Value(Kind.integer, 3), A: Value(Kind.octets, "a")}, now=0.0)
    assert table.next((1, 3), 0.0) == (A, Value(Kind.octets, "a"))
    assert table.next(A, 0.0) == (C, Value(Kind.integer, 3))
    assert table.next(C, 0.0) is None
    assert table.get(B, 0.0) is None


def test_uptime_counts_from_boot() -> None:
    table = LiveTable({A: Uptime(boot=1000.0)}, now=5000.0)
    assert table.get(A, 1012.5) == Value(Kind.ticks, 1250)


def test_a_counter_carries_over_and_stops_when_the_port_goes_down() -> None:
    up = LiveTable({A: Counter(per_second=100.0)}, now=0.0)
    assert up.get(A, 10.0) == Value(Kind.counter64, 1000)
    # The fault switches at t=10: the port stops counting, and does not go back to 0.
    down = LiveTable({A: Counter(per_second=0.0)}, now=10.0, before=up)
    assert down.get(A, 30.0) == Value(Kind.counter64, 1000)
    again = LiveTable({A: Counter(per_second=100.0)}, now=40.0, before=down)
    assert again.get(A, 41.0) == Value(Kind.counter64, 1100)


def test_counter32_wraps() -> None:
    table = LiveTable({A: Counter(per_second=2**31, bits=32)}, now=0.0)
    assert table.get(A, 3.0) == Value(Kind.counter32, (3 * 2**31) % 2**32)


def test_elapsed_starts_when_it_appears_and_survives_rebuilds() -> None:
    off = LiveTable({D: Value(Kind.integer, 0)}, now=0.0)
    on = LiveTable({D: Elapsed()}, now=100.0, before=off)
    assert on.get(D, 130.0) == Value(Kind.integer, 30)
    rebuilt = LiveTable({D: Elapsed()}, now=140.0, before=on)
    assert rebuilt.get(D, 160.0) == Value(Kind.integer, 60)
