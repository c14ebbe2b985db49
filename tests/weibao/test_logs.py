"""One line per event, and no secret ever reaches the log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from weibao.logs import (
    LineFormatter,
    log_event,
    redact_fields,
    redact_text,
    setup_logging,
    summarize_activity,
)


def record(event: str, **fields: object) -> logging.LogRecord:
    rec = logging.LogRecord("weibao.test", logging.INFO, __file__, 1, event, None, None)
    rec.fields = fields  # type: ignore[attr-defined]
    return rec


def test_one_line_with_key_values_quoted_where_needed() -> None:
    line = LineFormatter().format(record("ticket.opened", number="WB-2026-000001", title="a b"))
    assert "\n" not in line
    assert line.split(" ", 3)[1:3] == ["INFO", "weibao.test"]
    assert line.endswith('ticket.opened number=WB-2026-000001 title="a b"')


@pytest.mark.parametrize(
    "key", ["password", "community", "auth_key", "priv_key", "token", "Authorization"]
)
def test_fields_named_like_secrets_are_replaced(key: str) -> None:
    assert redact_fields({key: "hunter2", "device": "sw1"}) == {key: "***", "device": "sw1"}


def test_tokens_and_bearer_headers_inside_text_are_replaced() -> None:
    text = (
        "push failed: Bearer wb_abcdefghijklmnopqrstuvwxyz0123 refused, "
        "token wb_0123456789abcdefXYZ"
    )
    cleaned = redact_text(text)
    assert "wb_abcdefghijklmnopqrstuvwxyz0123" not in cleaned
    assert "wb_0123456789abcdefXYZ" not in cleaned
    assert cleaned.startswith("push failed: Bearer ***")


def test_json_lines_carry_the_same_redaction() -> None:
    line = LineFormatter(as_json=True).format(record("snmp.auth", community="public", device="sw1"))
    data = json.loads(line)
    assert data["event"] == "snmp.auth" and data["device"] == "sw1"
    assert data["community"] == "***"


def test_log_event_passes_fields(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("weibao.test.events")
    with caplog.at_level(logging.INFO, logger="weibao.test.events"):
        log_event(logger, "agent.pushed", samples=3)
    assert caplog.records[0].fields == {"samples": 3}  # type: ignore[attr-defined]
    assert caplog.records[0].getMessage() == "agent.pushed"


class ListHandler(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def shown() -> Iterator[ListHandler]:
    """What an INFO handler on the routine loggers' parent shows."""
    handler = ListHandler(logging.INFO)
    parent = logging.getLogger("weibao.test.summary")
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    parent.propagate = False
    try:
        yield handler
    finally:
        parent.removeHandler(handler)
        parent.setLevel(logging.NOTSET)
        parent.propagate = True


def test_routine_events_are_summed_once_a_minute_at_info(shown: ListHandler) -> None:
    now = [1000.0]
    api = logging.getLogger("weibao.test.summary.api")
    ingest = logging.getLogger("weibao.test.summary.ingest")
    stop = summarize_activity(
        [api.name, ingest.name], into="weibao.test.summary.activity", clock=lambda: now[0]
    )
    try:
        for status in (200, 201, 404):
            log_event(api, "http.request", logging.DEBUG, status=status, path="/x")
        log_event(ingest, "observations.ingested", logging.DEBUG, accepted=3, duplicates=1)
        log_event(ingest, "ticket.opened", number="WB-2026-000001")
        now[0] += 59.0
        log_event(ingest, "observations.ingested", logging.DEBUG, accepted=1, duplicates=0)
        assert [r.getMessage() for r in shown.records] == ["ticket.opened"]  # not a minute yet
        now[0] += 1.0
        log_event(api, "http.request", logging.DEBUG, status=500, path="/y")
        summary = shown.records[-1]
        assert summary.getMessage() == "desk.activity" and summary.levelno == logging.INFO
        assert summary.fields == {  # type: ignore[attr-defined]
            "seconds": 60,
            "observations_accepted": 4,
            "observations_duplicates": 1,
            "requests_2xx": 2,
            "requests_4xx": 1,
            "requests_5xx": 1,
        }
        now[0] += 120.0
        stop()  # nothing counted since: no second summary
        assert [r.getMessage() for r in shown.records] == ["ticket.opened", "desk.activity"]
    finally:
        stop()
    assert api.level == logging.NOTSET and not api.filters


def test_the_last_summary_is_logged_at_stop(shown: ListHandler) -> None:
    api = logging.getLogger("weibao.test.summary.api")
    stop = summarize_activity([api.name], into="weibao.test.summary.activity")
    log_event(api, "http.request", logging.DEBUG, status=200)
    stop()
    assert [r.getMessage() for r in shown.records] == ["desk.activity"]


def test_setup_logging_keeps_debug_records_of_a_debug_logger_off_an_info_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        noisy = logging.getLogger("weibao.test.noisy")
        noisy.setLevel(logging.DEBUG)
        log_event(noisy, "http.request", logging.DEBUG, status=200)
        log_event(noisy, "ticket.opened", number="WB-1")
        err = capsys.readouterr().err
        assert "ticket.opened" in err and "http.request" not in err
    finally:
        logging.getLogger("weibao.test.noisy").setLevel(logging.NOTSET)
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
