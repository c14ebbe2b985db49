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


def shown(data: dict[str, Any]) -> str:
    out = io.StringIO()
    Console(file=out, width=240, highlight=False).print(render_ticket(data, NOW))
    return out.getvalue()


def test_the_snapshot_line_shows_the_samples_that_fired() -> None:
    """A 52-port switch: the observation's first samples are ports that are up; the
    line names the port that is down, the one the rule fired on."""
    ports = [
        {"name": "interface_up", "labels": {"ifName": f"GE1/0/{i}"}, "value": 1 if i != 25 else 0}
        for i in range(1, 53)
    ]
    observation = {
        "time": NOW.isoformat(),
        "source": "snmp",
        "samples": ports[:20],
        "samples_total": 52,
    }
    history = [
        {"time": NOW.isoformat(), "source": "snmp", "ok": True, "samples": ports},
    ]
    fired = [{"name": "interface_up", "labels": {"ifName": "GE1/0/25"}, "value": 0}]
    opened = {"at": NOW.isoformat(), "kind": "opened", "actor": "weibao"}
    data = {
        **ticket(),
        "snapshot": {"observation": observation, "history": history},
        "events": [{**opened, "data": {"level": "II", "samples": fired}}],
    }
    text = shown(data)
    assert 'fired by snmp observation at 2026-03-02 16:00: interface_up{ifName="GE1/0/25"}=0' in (
        text
    )
    assert "(1 of the 52 samples)" in text
    assert 'GE1/0/1"' not in text  # neither in the line nor in the history
    # Without the opening event (a customer's view, an old desk): the first samples.
    older = {**data, "events": []}
    assert 'interface_up{ifName="GE1/0/1"}=1' in shown(older)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.18000030517578125, "0.18"),
        (18403700.0, "18403700"),
        (97.123456, "97.12"),
        (0.000123456, "0.000123"),
        (0, "0"),
        (-3.5, "-3.5"),
        (float("nan"), "nan"),
    ],
)
def test_sample_values_read_as_people_write_them(value: float, text: str) -> None:
    from weibao.numbers import format_value

    assert format_value(value) == text


def test_floats_in_the_snapshot_are_rounded() -> None:
    observation = {
        "time": NOW.isoformat(),
        "source": "agent",
        "samples": [{"name": "load1", "value": 0.18000030517578125}],
    }
    text = shown({**ticket(), "snapshot": {"observation": observation}})
    assert "load1=0.18" in text and "0.18000030517578125" not in text


def test_a_level_iv_ticket_reads_plan_and_an_advisory_no_clock() -> None:
    level_iv = {**ticket(), "level": "IV"}
    clocks = dict(level_iv["clocks"])
    clocks["plan"] = clocks.pop("onsite")
    level_iv["clocks"] = clocks
    lines = step_lines(level_iv, NOW)
    assert "plan due" in lines[1] and "on site" not in lines[1]
    assert "plan" in shown(level_iv)
    escalated = {"clock": "plan", "step": "warning", "used": 0.8}
    assert describe_event("escalated", escalated, UTC).startswith("plan clock: warning")
    advisory = {**ticket(), "clocks": None, "labels": {"audience": "management"}}
    assert next_clock_text(advisory, NOW) == "no SLA clock (advisory)"
    assert "advisory for the service manager" in shown(advisory)


def test_inspect_prints_uptime_in_full_not_in_exponent_form() -> None:
    from weibao.cli.inspect_cmd import render_observation
    from weibao.observation import Observation

    obs = Observation.model_validate(
        {
            "device": "ht-core-sw-1",
            "source": "snmp",
            "time": NOW.isoformat(),
            "samples": [
                {"name": "uptime_seconds", "value": 18403700.0},
                {"name": "cpu_usage_ratio", "value": 0.18000030517578125},
            ],
        }
    )
    out = io.StringIO()
    render_observation(Console(file=out, width=120, highlight=False), obs, "snmp")
    text = out.getvalue()
    assert "18403700" in text and "e+07" not in text
    assert "0.18" in text and "0.1800003" not in text


def test_a_run_of_reports_reads_as_one_row_with_its_count_and_start() -> None:
    """Evidence is folded into one row per run (about 1,440 a day otherwise): the row says
    how many reports and since when, in the site's time."""
    run = {"level": "II", "rule": "interface_down", "reports": 1440,
           "first_at": "2026-03-02T00:00:00+00:00"}  # fmt: skip
    assert describe_event("evidence", run, SHANGHAI) == (
        "level II; rule interface_down; 1440 reports since 2026-03-02 08:00"
    )
    single = {"level": "II", "rule": "interface_down"}
    assert describe_event("evidence", single, SHANGHAI) == "level II; rule interface_down"


def test_the_console_timeline_says_the_same_in_chinese() -> None:
    from desk.i18n import translations
    from desk.web.views.timeline import describe

    _ = translations("console", "zh").gettext
    run = {"level": "II", "reports": 3, "first_at": "2026-03-02T00:00:00+00:00"}
    assert "自 2026-03-02 08:00 起共 3 次" in describe("evidence", run, "Asia/Shanghai", _)
