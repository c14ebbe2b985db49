"""Structured logging: one line per event, ``event key=value ...`` or JSON.

Callers log an event name and fields (``log_event(log, "ticket.opened", number=...)``);
fields whose name says secret, and any value that looks like a bearer token, are
replaced by ``***`` before they reach a handler, so a careless field can not leak.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_SECRET_KEYS = re.compile(
    r"(pass|secret|token|community|auth_key|priv_key|authorization|credential|private)", re.I
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_TOKEN_LIKE = re.compile(r"\bwb_[A-Za-z0-9_-]{16,}\b")
REDACTED = "***"


def redact_text(text: str) -> str:
    text = _BEARER.sub(r"\1" + REDACTED, text)
    return _TOKEN_LIKE.sub(REDACTED, text)


def redact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if _SECRET_KEYS.search(key):
            out[key] = REDACTED
        elif isinstance(value, str):
            out[key] = redact_text(value)
        else:
            out[key] = value
    return out


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class LineFormatter(logging.Formatter):
    """``2026-11-21T08:00:00Z INFO weibao.desk ticket.opened number=WB-... level=I``."""

    def __init__(self, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields = redact_fields(getattr(record, "fields", {}))
        when = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + "Z"
        message = redact_text(record.getMessage())
        if record.exc_info:
            fields["exc"] = redact_text(self.formatException(record.exc_info).splitlines()[-1])
        if self.as_json:
            return json.dumps(
                {
                    "time": when,
                    "level": record.levelname,
                    "logger": record.name,
                    "event": message,
                    **fields,
                },
                ensure_ascii=False,
                default=str,
            )
        tail = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        return f"{when} {record.levelname} {record.name} {message}" + (f" {tail}" if tail else "")


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields})


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    import time

    handler = logging.StreamHandler(sys.stderr)
    formatter = LineFormatter(as_json=as_json)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would print request lines in its own format; ours replaces it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every request at INFO in its own words; our push code logs the outcome.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # paramiko narrates every SSH connection at INFO; the collector logs the outcome.
    logging.getLogger("paramiko").setLevel(logging.WARNING)
