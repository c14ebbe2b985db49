"""One line per event, and no secret ever reaches the log."""

from __future__ import annotations

import json
import logging

import pytest

from weibao.logs import LineFormatter, log_event, redact_fields, redact_text


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
