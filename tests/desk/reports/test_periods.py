"""Report periods: the forms people type, the default period, and UTC bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from desk.reports.periods import (
    months_of,
    parse_period,
    previous_quarters,
    utc_bounds,
)

TODAY = date(2026, 12, 3)


def test_a_month_is_its_days_with_its_label() -> None:
    assert parse_period("2026-11", "month", TODAY) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        "2026-11",
    )
    assert parse_period("2024-02", "month", TODAY)[1] == date(2024, 2, 29)
    assert parse_period("2026-12", "month", TODAY)[1] == date(2026, 12, 31)


def test_a_quarter_is_three_months() -> None:
    assert parse_period("2026-Q4", "quarter", TODAY) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
        "2026-Q4",
    )
    assert parse_period("2026q1", "quarter", TODAY) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
        "2026-Q1",
    )


def test_a_range_includes_its_last_day() -> None:
    assert parse_period("2026-11-01..2026-11-15", "month", TODAY) == (
        date(2026, 11, 1),
        date(2026, 11, 15),
        "2026-11-01..2026-11-15",
    )


def test_no_text_is_the_last_full_month_or_quarter() -> None:
    assert parse_period(None, "month", TODAY)[2] == "2026-11"
    assert parse_period(None, "month", date(2026, 1, 1))[2] == "2025-12"
    assert parse_period(None, "quarter", TODAY)[2] == "2026-Q3"
    assert parse_period(None, "quarter", date(2026, 2, 14)) == (
        date(2025, 10, 1),
        date(2025, 12, 31),
        "2025-Q4",
    )


@pytest.mark.parametrize(
    "text", ["2026-13", "November", "2026-Q5", "2026-11-15..2026-11-01", "2026-02-30..2026-03-01"]
)
def test_bad_text_shows_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM .*YYYY-Qn .*YYYY-MM-DD\.\.YYYY-MM-DD"):
        parse_period(text, "month", TODAY)


def test_local_days_become_utc_instants_of_the_site() -> None:
    start, end = utc_bounds(date(2026, 11, 1), date(2026, 11, 30), "Asia/Shanghai")
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    # Urumqi is UTC+6: the same month starts two hours later.
    assert utc_bounds(date(2026, 11, 1), date(2026, 11, 30), "Asia/Urumqi")[0] == datetime(
        2026, 10, 31, 18, 0, tzinfo=UTC
    )


def test_trend_quarters_and_months() -> None:
    labels = [label for *_, label in previous_quarters(date(2026, 4, 1), 4)]
    assert labels == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    assert months_of(date(2026, 10, 1), date(2026, 12, 31)) == ["2026-10", "2026-11", "2026-12"]
