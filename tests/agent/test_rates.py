"""Rates from two readings; a counter that went down gives no rate, never a negative one."""

from __future__ import annotations

from agent.rates import Rates


def test_first_reading_has_no_rate_then_per_second() -> None:
    rates: Rates[str] = Rates()
    assert rates.update({"rx": 100}, now=10) == {}
    assert rates.update({"rx": 400}, now=20) == {"rx": 30.0}


def test_counter_reset_skips_that_rate_only() -> None:
    rates: Rates[str] = Rates()
    rates.update({"rx": 1000, "tx": 10}, now=0)
    assert rates.update({"rx": 5, "tx": 30}, now=10) == {"tx": 2.0}
    assert rates.update({"rx": 105, "tx": 30}, now=20) == {"rx": 10.0, "tx": 0.0}


def test_time_standing_still_gives_no_rates_and_gone_keys_are_forgotten() -> None:
    rates: Rates[str] = Rates()
    rates.update({"a": 1, "b": 1}, now=5)
    assert rates.update({"a": 2}, now=5) == {}
    assert rates.update({"a": 3, "b": 9}, now=6) == {"a": 1.0}
