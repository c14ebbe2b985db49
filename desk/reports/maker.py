"""Making a report on request: the period, the rollups caught up, the builder, the
renderer. The API (desk.api_reports) and the e-mail sender (desk.reports.delivery) both
go through :class:`ReportMaker`, so a downloaded and an e-mailed report are the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from desk.notify.mail import Attachment
from desk.notify.message import ReportRequest
from desk.storage import Store
from weibao.clock import Clock
from weibao.inventory.model import Inventory

PeriodKind = Literal["month", "quarter"]
PERIOD_KIND: dict[str, PeriodKind] = {"inspection": "month", "quarterly": "quarter"}


class _Rollups(Protocol):
    def catch_up(self, now: datetime) -> int: ...


@dataclass(frozen=True)
class ReportKit:
    """The report machinery a :class:`ReportMaker` drives (tests pass stand-ins)."""

    parse_period: Callable[[str | None, PeriodKind, date], tuple[date, date, str]]
    build_inspection: Callable[..., Any]
    build_quarterly: Callable[..., Any]
    render: Callable[[Any, Any], Attachment]
    rollups: Callable[[Store, Inventory, Clock], _Rollups]

    @classmethod
    def standard(cls) -> ReportKit:
        """The real builders and renderers, imported on first use: the PDF and XLSX
        libraries take a while to load, and a desk that never writes a report need not."""
        from desk.reports.inspection import build_inspection
        from desk.reports.periods import parse_period
        from desk.reports.quarterly import build_quarterly
        from desk.reports.render import render
        from desk.rollups import Rollups

        return cls(parse_period, build_inspection, build_quarterly, render, Rollups)


class ReportMaker:
    """Builds and renders reports for the API and the e-mail sender (any thread)."""

    def __init__(
        self, store: Store, inventory: Inventory, clock: Clock, kit: ReportKit | None = None
    ) -> None:
        self._store = store
        self._inventory = inventory
        self._clock = clock
        self._kit = kit
        self._zone = ZoneInfo(inventory.reports.delivery.timezone)
        self._rollups: _Rollups | None = None
        # One catch-up at a time in this process: two downloads at once would read and
        # write the same rollup buckets for nothing.
        self._lock = threading.Lock()

    @property
    def kit(self) -> ReportKit:
        if self._kit is None:
            self._kit = ReportKit.standard()
        return self._kit

    def period(self, kind: str, text: str | None) -> tuple[date, date, str]:
        """(first day, last day, label) of ``text``; ValueError naming the accepted forms.
        No text: the last full month (inspection) or quarter (quarterly) before today."""
        today = self._clock.now().astimezone(self._zone).date()
        return self.kit.parse_period(text, PERIOD_KIND[kind], today)

    def build(self, request: ReportRequest) -> Any:
        """The report as data; ReportError for an unknown customer or contract."""
        kit = self.kit
        start, end, _ = self.period(request.kind, request.period)
        now = self._clock.now()
        with self._lock:
            if self._rollups is None:
                self._rollups = kit.rollups(self._store, self._inventory, self._clock)
            self._rollups.catch_up(now)  # so the report includes what was just pushed
        if request.kind == "inspection":
            assert request.customer is not None  # ReportRequest refuses it otherwise
            return kit.build_inspection(
                self._store,
                self._inventory,
                request.customer,
                start,
                end,
                now,
                contract=request.contract,
                language=request.language,
            )
        return kit.build_quarterly(
            self._store,
            self._inventory,
            start,
            end,
            now,
            customer=request.customer,
            contract=request.contract,
            language=request.language,
        )

    def render(self, request: ReportRequest) -> Attachment:
        """The rendered file (content, media type, file name) of ``request``."""
        return self.kit.render(self.build(request), request.format)


def download_path(request: ReportRequest) -> str:
    """The API path that fetches the same report (shown in the e-mail and in chat)."""
    query = {
        "customer": request.customer,
        "contract": request.contract,
        "period": request.period,
        "format": request.format,
        "lang": request.language,
    }
    params = urlencode({k: v for k, v in query.items() if v is not None})
    return f"/api/v1/reports/{request.kind}?{params}"
