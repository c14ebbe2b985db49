"""Structured logging: one line per event, ``event key=value ...`` or JSON.

Callers log an event name and fields (``log_event(log, "ticket.opened", number=...)``);
fields whose name says secret, and any value that looks like a bearer token, are
replaced by ``***`` before they reach a handler, so a careless field can not leak.

Routine events that come many times a minute (an observation stored, an API call) are
logged at DEBUG; :class:`ActivitySummary` counts them and logs their totals once a
minute at INFO, so the events that matter (a ticket opened, a desk unreachable) stand out.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
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
    # The handler filters too: a logger set to DEBUG to count its routine events
    # (summarize_activity) must not print them at INFO.
    handler.setLevel(level.upper())
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


SUMMARY_EVERY = 60.0
"""Seconds between two activity summaries."""


class ActivitySummary(logging.Filter):
    """Counts the routine events of the loggers it filters; logs their totals at INFO.

    Counted: ``observations.ingested`` (its ``accepted`` and ``duplicates``) and
    ``http.request`` (by status class, ``requests_2xx=...``). The summary covers the time
    since the one before and is logged with the first counted event after ``every``
    seconds (so a desk with nothing to count logs nothing), and by :meth:`flush` at stop.
    The counted records go on to the handler, which shows them only at DEBUG.
    """

    def __init__(
        self,
        logger: logging.Logger,
        every: float = SUMMARY_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.logger = logger
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._since = clock()
        self._counts: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        fields = getattr(record, "fields", {})
        if record.msg == "observations.ingested":
            self._add(
                ("observations_accepted", _int(fields.get("accepted"))),
                ("observations_duplicates", _int(fields.get("duplicates"))),
            )
        elif record.msg == "http.request":
            status = _int(fields.get("status"))
            self._add((f"requests_{status // 100}xx", 1))
        return True

    def _add(self, *counts: tuple[str, int]) -> None:
        with self._lock:
            for key, n in counts:
                self._counts[key] = self._counts.get(key, 0) + n
            due = self.clock() - self._since >= self.every
        if due:
            self.flush()

    def flush(self) -> None:
        """Log what was counted since the last summary (nothing when nothing was)."""
        with self._lock:
            now = self.clock()
            counts, self._counts = self._counts, {}
            seconds, self._since = now - self._since, now
        if counts:
            fields = {"seconds": round(seconds), **dict(sorted(counts.items()))}
            log_event(self.logger, "desk.activity", **fields)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def summarize_activity(
    loggers: Iterable[str],
    into: str = "weibao.desk.activity",
    every: float = SUMMARY_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], None]:
    """Count the routine DEBUG events of ``loggers`` into one INFO summary a minute;
    returns the function that logs the last summary and detaches it (at stop).

    The loggers are set to DEBUG, so their routine records are made (and counted) even
    when the handler shows only INFO and above (:func:`setup_logging` sets the handler's
    level, which drops them there).
    """
    summary = ActivitySummary(logging.getLogger(into), every, clock)
    attached = [logging.getLogger(name) for name in loggers]
    levels = [logger.level for logger in attached]
    for logger in attached:
        logger.setLevel(logging.DEBUG)
        logger.addFilter(summary)

    def stop() -> None:
        summary.flush()
        for logger, level in zip(attached, levels, strict=True):
            logger.removeFilter(summary)
            logger.setLevel(level)

    return stop
