"""How tickets read on a terminal (weibao.cli.ticket_view): durations, the next clock,
site-local times, and ticket text that must never be taken for Rich markup."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from weibao.cli.ticket_view import (
    describe_event,
    next_clock_text,
    render_ticket,
    span,
    step_lines,
    until,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def clock(due: datetime, met: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "due": due.isoformat(),
        "met_at": met.isoformat() if met else None,
        "breached": False,
        **extra,
    }


def ticket(**clocks: dict[str, Any]) -> dict[str, Any]:
    base = {
        "response": clock(NOW + timedelta(minutes=20)),
        "onsite": clock(NOW + timedelta(minutes=30)),
        "resolve": clock(NOW + timedelta(hours=4)),
    }
    return {
        "number": "WB-2026-000007",
        "level": "I",
        "status": "acknowledged",
        "device": "core-sw",
        "title": "core-sw [bold]down[/bold]",
        "timezone": "Asia/Shanghai",
        "detected_at": NOW.isoformat(),
        "clocks": {**base, **clocks},
        "events": [
            {"at": NOW.isoformat(), "kind": "note", "actor": "李强", "data": {"text": "[red]x"}}
        ],
    }


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "<1m"),
        (59, "<1m"),
        (60, "1m"),
        (3600, "1h"),
        (3660 + 300, "1h 6m"),
        (86400, "1d"),
        (86400 + 7200, "1d 2h"),
        (-125, "2m"),
    ],
)
def test_span(seconds: float, text: str) -> None:
    assert span(seconds) == text


def test_until_says_in_or_overdue() -> None:
    assert until((NOW + timedelta(minutes=12)).isoformat(), NOW) == "in 12m"
    assert until((NOW - timedelta(hours=2, minutes=5)).isoformat(), NOW) == "overdue 2h 5m"
    assert until("2026-03-02T08:00:00Z", NOW) == "in <1m"


def test_the_next_clock_is_the_first_not_met_in_site_time() -> None:
    open_ticket = ticket()
    assert next_clock_text(open_ticket, NOW) == "response due 03-02 16:20 (in 20m)"
    acked = ticket(response=clock(NOW + timedelta(minutes=20), met=NOW))
    assert next_clock_text(acked, NOW) == "on site due 03-02 16:30 (in 30m)"
    late = NOW + timedelta(hours=5)
    assert next_clock_text(acked, late) == "on site due 03-02 16:30 (overdue 4h 30m)"
    done = ticket(
        response=clock(NOW, met=NOW), onsite=clock(NOW, met=NOW), resolve=clock(NOW, met=NOW)
    )
    assert next_clock_text(done, NOW) == "all met"


def test_a_breach_the_desk_reports_wins_over_this_machines_clock() -> None:
    skewed = ticket(response=clock(NOW + timedelta(minutes=20), breached=True))
    assert next_clock_text(skewed, NOW) == "response due 03-02 16:20 (breached)"


def test_step_lines_give_status_and_every_clock() -> None:
    paused = ticket(
        response=clock(NOW, met=NOW + timedelta(minutes=5)),
        resolve=clock(NOW + timedelta(hours=4), paused=True),
    )
    head, clocks = step_lines(paused, NOW)
    assert head == "WB-2026-000007: acknowledged · level I · core-sw"
    assert clocks == (
        "  clocks: response met 03-02 16:05 · on site due 03-02 16:30 (in 30m) · "
        "resolve paused (due 03-02 20:00)"
    )
    late = ticket(response=clock(NOW, met=NOW + timedelta(minutes=5), breached=True))
    assert "response met late 03-02 16:05" in step_lines(late, NOW)[1]


def test_ticket_text_is_never_read_as_markup() -> None:
    out = io.StringIO()
    Console(file=out, width=200, highlight=False).print(render_ticket(ticket(), NOW))
    text = out.getvalue()
    assert "core-sw [bold]down[/bold]" in text and "[red]x" in text
    assert "2026-03-02 16:00" in text  # the timeline in Shanghai time


def test_events_in_words() -> None:
    moved = {
        "clock": "resolve",
        "previous": "2026-03-02T12:00:00+00:00",
        "due": "2026-03-03T12:00:00+00:00",
        "agreed_by": "张三",
        "reason": "parts arrive Monday",
    }
    assert describe_event("due_moved", moved, SHANGHAI) == (
        "resolve due 2026-03-02 20:00 -> 2026-03-03 20:00, agreed by 张三; parts arrive Monday"
    )
    part = {"part_number": "FAN-01", "name": "Fan", "quantity": 2, "from_stock": False}
    assert describe_event("part", part, SHANGHAI) == "2 x FAN-01 Fan (not from stock)"
    assert describe_event("followup_done", {"outcome": "fine", "satisfaction": 4}, UTC) == (
        "fine; satisfaction 4/5"
    )
    assert describe_event("acknowledged", {"note": "on my way"}, UTC) == "on my way"
    assert describe_event("something_new", {"a": 1, "observation_id": "x"}, UTC) == "a: 1"


def test_what_the_device_said_is_shown_short_unless_asked_for_in_full() -> None:
    said = "\n".join(
        f".1.3.6.1.2.1.2.2.1.8.{i} = INTEGER: {1 if i != 7 else 2}" for i in range(1, 31)
    )
    raw = {
        "observation_id": "o1",
        "time": NOW.isoformat(),
        "source": "snmp",
        "outputs": {"snmp": said},
    }
    data = {**ticket(), "snapshot": {"raw": raw}}

    def shown(lines: int | None) -> str:
        out = io.StringIO()
        Console(file=out, width=200, highlight=False).print(
            render_ticket(data, NOW, raw_lines=lines)
        )
        return out.getvalue()

    short = shown(12)
    assert "What the device said" in short and "── snmp ──" in short
    assert ".1.3.6.1.2.1.2.2.1.8.7 = INTEGER: 2" in short
    assert ".1.3.6.1.2.1.2.2.1.8.13" not in short
    assert "… 18 more lines (weibao ticket show --raw)" in short
    full = shown(None)
    assert ".1.3.6.1.2.1.2.2.1.8.30 = INTEGER: 1" in full and "more lines" not in full
