"""Report periods: what people type (``2026-11``, ``2026-Q4``, a range) into local days,
and local days into UTC instants.

A period is a span of whole local days, the last one included, because that is how a
contract and a customer count a month. Instants are half-open in UTC: from local
midnight of the first day to local midnight after the last, so a month's statistics
and the next month's never share or lose a second, whatever the site's time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["month", "quarter"]

FORMS = "YYYY-MM (a month), YYYY-Qn (a quarter) or YYYY-MM-DD..YYYY-MM-DD (a range of days)"

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


def parse_period(
    text: str | None, kind: Literal["month", "quarter"], today: date
) -> tuple[date, date, str]:
    """(first day, last day included, label); None: the last full month or quarter
    before ``today``. Raises ValueError naming the accepted forms."""
    if text is None or not text.strip():
        return previous_period(kind, today)
    raw = text.strip()
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r}: month {month} does not exist; write {FORMS}")
        return month_period(year, month)
    if m := _QUARTER.match(raw):
        return quarter_period(int(m[1]), int(m[2]))
    if m := _RANGE.match(raw):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}; write {FORMS}") from None
        if last < first:
            raise ValueError(f"{text!r}: the range ends before it starts; write {FORMS}")
        return first, last, f"{first.isoformat()}..{last.isoformat()}"
    raise ValueError(f"{text!r} is not a period: write {FORMS}")


def month_period(year: int, month: int) -> tuple[date, date, str]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1), f"{year:04d}-{month:02d}"


def quarter_period(year: int, quarter: int) -> tuple[date, date, str]:
    first = date(year, 3 * quarter - 2, 1)
    last = month_period(year, 3 * quarter)[1]
    return first, last, f"{year:04d}-Q{quarter}"


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_label(day: date) -> str:
    """``2026-Q4`` for any day of that quarter."""
    year, quarter = quarter_of(day)
    return f"{year:04d}-Q{quarter}"


def previous_period(kind: PeriodKind, today: date) -> tuple[date, date, str]:
    """The last full month (or quarter) that ended before ``today``."""
    if kind == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return month_period(last.year, last.month)
    year, quarter = quarter_of(today)
    return quarter_period(year - 1, 4) if quarter == 1 else quarter_period(year, quarter - 1)


def previous_quarters(start: date, count: int) -> list[tuple[date, date, str]]:
    """The ``count`` quarters that end with the one holding ``start``, oldest first."""
    year, quarter = quarter_of(start)
    out = []
    for _ in range(count):
        out.append(quarter_period(year, quarter))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return out[::-1]


def is_month(start: date, end: date) -> bool:
    return start.day == 1 and month_period(start.year, start.month)[1] == end


def is_quarter(start: date, end: date) -> bool:
    year, quarter = quarter_of(start)
    first, last, _ = quarter_period(year, quarter)
    return (first, last) == (start, end)


def local_midnight(day: date, timezone: str) -> datetime:
    """Midnight starting ``day`` in the time zone, as a UTC instant."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


def utc_bounds(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """The period as UTC instants [from, to): local midnight of ``start`` to local
    midnight after ``end``."""
    return local_midnight(start, timezone), local_midnight(end + timedelta(days=1), timezone)


def local_date(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def months_of(start: date, end: date) -> list[str]:
    """``YYYY-MM`` of every month the period touches, in order."""
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
