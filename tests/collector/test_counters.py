"""Rates: never negative, never absurd, absent rather than wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.snmp.counters import CounterReading, CounterStore

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
DAY = 100 * 86400  # sysUpTime ticks in a day


def reading(value: int, width: int = 32, **kw: object) -> CounterReading:
    return CounterReading("interface_errors_rate", {"interface": "ge1"}, value, width, **kw)  # type: ignore[arg-type]


def rates(
    store: CounterStore, seconds: float, uptime: int | None, *readings: CounterReading
) -> list[float]:
    report = store.update(T0 + timedelta(seconds=seconds), uptime, list(readings))
    return [s.value for s in report.samples]


def test_first_sample_gives_no_rate_then_the_difference_per_second() -> None:
    store = CounterStore()
    assert rates(store, 0, DAY, reading(1000)) == []
    assert rates(store, 60, DAY + 6000, reading(1600)) == [10.0]


def test_counter32_wrap_is_unwrapped() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(2**32 - 600))
    assert rates(store, 60, DAY + 6000, reading(600)) == [20.0]


def test_counter32_going_far_back_is_a_reset_not_a_wrap() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(2**31 - 100))
    assert rates(store, 60, DAY + 6000, reading(5)) == []  # over half the range: a reset
    store = CounterStore()
    rates(store, 0, DAY, reading(3_000_000_000, max_rate=2.2e6))  # a 1 Gbit/s port
    assert rates(store, 60, DAY + 6000, reading(5, max_rate=2.2e6)) == []  # 21.6M packets/s


def test_counter64_going_back_is_a_reset() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(10**12, 64))
    assert rates(store, 60, DAY + 6000, reading(10, 64)) == []
    assert rates(store, 120, DAY + 12000, reading(70, 64)) == [1.0]  # new baseline


def test_uptime_going_back_skips_every_rate_once() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(100))
    report = store.update(T0 + timedelta(seconds=60), 3000, [reading(900)])
    assert report.restarted and report.samples == []
    assert rates(store, 120, 9000, reading(960)) == [1.0]


def test_a_short_uptime_after_a_long_gap_is_a_restart() -> None:
    store = CounterStore()
    rates(store, 0, 1000, reading(100))  # up 10 s
    # an hour later the agent has been up 20 s more than before: it restarted meanwhile
    report = store.update(T0 + timedelta(hours=1), 3000, [reading(5000)])
    assert report.restarted and report.samples == []


def test_sysuptime_wrap_after_497_days_is_not_a_restart() -> None:
    store = CounterStore()
    rates(store, 0, 2**32 - 3000, reading(100))
    assert rates(store, 60, 3000, reading(160)) == [1.0]


def test_discontinuity_marker_change_skips_that_counter() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(100, marker=5))
    assert rates(store, 60, DAY + 6000, reading(160, marker=7)) == []


def test_absurd_rate_is_dropped() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(0, 64, max_rate=100.0))
    assert rates(store, 60, DAY + 6000, reading(60_000_000, 64, max_rate=100.0)) == []


def test_scale_turns_octets_into_bits() -> None:
    store = CounterStore()
    rates(store, 0, None, reading(0, 64, scale=8.0))
    assert rates(store, 10, None, reading(1250, 64, scale=8.0)) == [1000.0]


def test_samples_too_close_keep_the_older_baseline() -> None:
    store = CounterStore()
    rates(store, 0, DAY, reading(0))
    assert rates(store, 0.2, DAY + 20, reading(10)) == []
    assert rates(store, 10, DAY + 1000, reading(100)) == [10.0]


def test_rate_samples_carry_the_labels() -> None:
    store = CounterStore()
    store.update(T0, None, [reading(0)])
    report = store.update(T0 + timedelta(seconds=1), None, [reading(1)])
    assert report.samples[0].labels == {"interface": "ge1"}
    assert report.samples[0].name == "interface_errors_rate"
