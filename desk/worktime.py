"""Time that counts on an SLA clock: all of it (24x7), or only a contract's business hours.

A clock of "4 hours" under business hours 09:00-18:00 that starts at 17:00 on a Friday
falls due at 12:00 on Monday. Both directions are needed: :meth:`add` finds a due time,
:meth:`between` measures how much of a clock is used up (for escalation at 80 %).
Working spans are computed per local day in the site's time zone and compared in UTC,
so daylight-saving changes (where a site has them) cannot shift a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from weibao.inventory.model import Calendar

# A calendar with no working day for this long is a configuration error, not a long wait.
_MAX_DAYS = 3 * 366
ZERO = timedelta(0)


class WorkingTime(Protocol):
    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of counted time after ``start``."""
        ...

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Counted time from ``start`` to ``end`` (zero when end is not after start)."""
        ...


class AlwaysOn:
    """24x7: every second counts."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return start + amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, ZERO)


class BusinessHours:
    """Counts only the calendar's working spans, in the given time zone."""

    def __init__(self, calendar: Calendar, tz: str) -> None:
        self._tz = ZoneInfo(tz)
        self._spans = calendar.spans()
        self._weekdays = calendar.weekdays()
        self._holidays = set(calendar.holidays)
        self._workdays = set(calendar.workdays)

    def is_working_day(self, day: date) -> bool:
        if day in self._workdays:
            return True
        return day.weekday() in self._weekdays and day not in self._holidays

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        out = []
        for a, b in self._spans:
            start = datetime.combine(day, time(a // 60, a % 60), self._tz)
            end = (
                datetime.combine(day + timedelta(days=1), time(0), self._tz)
                if b == 24 * 60
                else datetime.combine(day, time(b // 60, b % 60), self._tz)
            )
            out.append((start.astimezone(UTC), end.astimezone(UTC)))
        return out

    def _spans_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = start.astimezone(self._tz).date() - timedelta(days=1)
        for offset in range(_MAX_DAYS):
            for a, b in self._day_spans(day + timedelta(days=offset)):
                if b > start:
                    yield max(a, start), b
        raise ValueError(
            f"the business calendar has no working hours within {_MAX_DAYS} days: "
            "check its days, holidays and workdays"
        )

    def add(self, start: datetime, amount: timedelta) -> datetime:
        if amount <= ZERO:
            return start + amount
        left = amount
        for a, b in self._spans_from(start):
            if left <= b - a:
                return a + left
            left -= b - a
        raise AssertionError("unreachable: _spans_from raises when it runs out")

    def between(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return ZERO
        total = ZERO
        for a, b in self._spans_from(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total
