"""Business hours: due times skip nights, weekends and holidays, count make-up workdays,
and ``between`` measures exactly what ``add`` adds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.worktime import AlwaysOn, BusinessHours
from weibao.inventory.model import Calendar

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


OFFICE = BusinessHours(Calendar(hours="09:00-18:00"), "Asia/Shanghai")


def test_friday_evening_plus_four_hours_is_monday_noon() -> None:
    # 2026-03-06 is a Friday.
    assert OFFICE.add(local(2026, 3, 6, 17, 0), 4 * H) == local(2026, 3, 9, 12, 0)


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    assert OFFICE.add(local(2026, 3, 4, 22, 30), 30 * M) == local(2026, 3, 5, 9, 30)
    assert OFFICE.add(local(2026, 3, 7, 10, 0), 1 * H) == local(2026, 3, 9, 10, 0)  # Saturday


def test_a_lunch_break_does_not_count() -> None:
    hours = BusinessHours(Calendar(hours=["09:00-12:00", "13:30-18:00"]), "Asia/Shanghai")
    assert hours.add(local(2026, 3, 4, 11, 0), 2 * H) == local(2026, 3, 4, 14, 30)
    assert hours.between(local(2026, 3, 4, 11, 0), local(2026, 3, 4, 14, 30)) == 2 * H


def test_holidays_are_skipped_and_make_up_workdays_count() -> None:
    # National Day 2026: Oct 1-7 off, Saturday Oct 10 worked (调休).
    cal = Calendar(
        hours="09:00-18:00",
        holidays=[date(2026, 10, d) for d in range(1, 8)],
        workdays=[date(2026, 10, 10)],
    )
    hours = BusinessHours(cal, "Asia/Shanghai")
    assert hours.add(local(2026, 9, 30, 17, 0), 2 * H) == local(2026, 10, 8, 10, 0)
    assert hours.add(local(2026, 10, 9, 17, 0), 2 * H) == local(2026, 10, 10, 10, 0)


def test_time_zone_of_the_site_decides_the_hours() -> None:
    urumqi = BusinessHours(Calendar(hours="10:00-19:00"), "Asia/Urumqi")  # UTC+6
    start = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # 09:00 in Urumqi: not yet open
    assert urumqi.add(start, 1 * H) == datetime(2026, 3, 4, 5, 0, tzinfo=UTC)


def test_between_is_zero_backwards_and_24x7_counts_everything() -> None:
    a, b = local(2026, 3, 4, 10, 0), local(2026, 3, 4, 12, 0)
    assert OFFICE.between(b, a) == timedelta(0)
    assert AlwaysOn().between(a, b) == 2 * H
    assert AlwaysOn().add(a, 3 * H) == a + 3 * H


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    never = BusinessHours(Calendar(hours="09:00-18:00", days=["sat"], holidays=[]), "Asia/Shanghai")
    never._weekdays = set()  # what a calendar of holidays only would amount to
    with pytest.raises(ValueError, match="no working hours"):
        never.add(local(2026, 3, 4, 10, 0), H)


def test_bad_hours_and_days_are_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="not a span of working hours"):
        Calendar(hours="18:00-09:00")
    with pytest.raises(ValueError, match="unknown weekday"):
        Calendar(days=["monday", "funday"])


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 20),
)
def test_between_measures_what_add_adds(start: datetime, minutes: int) -> None:
    amount = timedelta(minutes=minutes)
    end = OFFICE.add(start, amount)
    assert end >= start
    assert OFFICE.between(start, end) == amount
