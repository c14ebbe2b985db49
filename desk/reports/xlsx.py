"""The reports as workbooks (openpyxl), for people who sort, filter and chart themselves.

Every figure is a number cell: ratios keep their 0..1 value under a percent format,
durations are hours (``0.00``), times are the report's local time (Excel has no time
zones), so a sum or a pivot table gives the same answer as the PDF. Each sheet is one
table with a frozen header row, a filter and set column widths.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from desk.i18n import level_label, translations
from desk.reports.labels import CLOCKS, EXPIRING, KINDS, STATUSES, VERDICTS
from desk.reports.model import InspectionReport, LevelCounts, QuarterlyReport, TicketStats

PERCENT = "0.00%"
HOURS = "0.00"
DATETIME = "yyyy-mm-dd hh:mm"
DATE = "yyyy-mm-dd"
DECIMAL = "0.00"
_HEADER_FILL = PatternFill("solid", fgColor="E3F2FD")
_HEADER_FONT = Font(bold=True)
_LEVELS = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class Column:
    title: str
    """Already translated."""
    width: float = 12
    number_format: str | None = None


class _Sheets:
    """Writes tables into a workbook in the report's language and time zone."""

    def __init__(self, language: str, timezone: str) -> None:
        self.book = Workbook()
        self.gettext = translations("reports", language).gettext
        self.language = language
        self.tz = ZoneInfo(timezone)
        self._first = True

    def sheet(self, title: str) -> Worksheet:
        if self._first:
            self._first = False
            worksheet = self.book.active
            assert isinstance(worksheet, Worksheet)
            worksheet.title = title[:31]
            return worksheet
        created: Worksheet = self.book.create_sheet(title[:31])
        return created

    def cell(self, value: Any) -> Any:
        """A value openpyxl can store: aware times become local, naive times."""
        if isinstance(value, datetime):
            return value.astimezone(self.tz).replace(tzinfo=None)
        return value

    def table(self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
        worksheet = self.sheet(title)
        worksheet.append([column.title for column in columns])
        for cell in worksheet[1]:
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            worksheet.append([self.cell(value) for value in row])
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            worksheet.column_dimensions[letter].width = column.width
            if column.number_format:
                for (cell,) in worksheet.iter_rows(
                    min_row=2, min_col=index, max_col=index, max_row=worksheet.max_row
                ):
                    cell.number_format = column.number_format
        worksheet.freeze_panes = "A2"
        if worksheet.max_row > 1:
            worksheet.auto_filter.ref = worksheet.dimensions

    def fields(self, title: str, rows: Sequence[tuple[str, Any, str | None]]) -> None:
        """A two-column sheet of labelled figures (the summary)."""
        _ = self.gettext
        worksheet = self.sheet(title)
        worksheet.append([_("Item"), _("Value")])
        for cell in worksheet[1]:
            cell.font = _HEADER_FONT
            cell.fill = _HEADER_FILL
        for label, value, number_format in rows:
            worksheet.append([label, self.cell(value)])
            if number_format:
                worksheet.cell(row=worksheet.max_row, column=2).number_format = number_format
        worksheet.column_dimensions["A"].width = 34
        worksheet.column_dimensions["B"].width = 40
        worksheet.freeze_panes = "A2"

    def label(self, table: dict[str, str], key: str) -> str:
        return self.gettext(table[key]) if key in table else key

    def level(self, value: str) -> str:
        return level_label(value, self.language)

    def save(self) -> bytes:
        buffer = io.BytesIO()
        self.book.save(buffer)
        return buffer.getvalue()


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def workbook(report: InspectionReport | QuarterlyReport) -> bytes:
    """The ``.xlsx`` file of either report."""
    if isinstance(report, InspectionReport):
        return inspection_workbook(report)
    return quarterly_workbook(report)


# --- the inspection report ----------------------------------------------------------------


def inspection_workbook(report: InspectionReport) -> bytes:
    out = _Sheets(report.language, report.period.timezone)
    _ = out.gettext
    s = report.summary
    rows: list[tuple[str, Any, str | None]] = [
        (_("Report number"), report.number, None),
        (_("Customer"), report.customer, None),
        (_("Contract"), ", ".join(c.id for c in report.contracts), None),
        (_("Period start"), report.period.start, DATE),
        (_("Period end"), report.period.end, DATE),
        (_("Devices"), s.devices, None),
        (_("Inspected"), s.inspected, None),
        (_("Healthy"), s.healthy, None),
        (_("Findings"), s.findings, None),
        (_("Unknown"), s.unknown, None),
        (_("Days with a full inspection"), len(report.inspection_dates), None),
    ]
    for title, counts in (
        (_("Opened in the period"), report.tickets.opened),
        (_("Of these resolved"), report.tickets.resolved),
        (_("Still open at the end"), report.tickets.still_open),
    ):
        rows += [(f"{title}: {out.level(lv)}", getattr(counts, lv), None) for lv in _LEVELS]
    out.fields(_("Summary"), rows)

    out.table(
        _("Devices"),
        [
            Column("#", 5),
            Column(_("Device"), 20),
            Column(_("Type"), 10),
            Column(_("Site"), 16),
            Column(_("Vendor"), 12),
            Column(_("Model"), 18),
            Column(_("Serial number"), 16),
            Column(_("Address"), 14),
            Column(_("Warranty ends"), 12, DATE),
            Column(_("Result"), 9),
            Column(_("Availability"), 11, PERCENT),
            Column(_("Inspections"), 11),
            Column(_("CPU mean"), 10, PERCENT),
            Column(_("CPU peak"), 10, PERCENT),
            Column(_("Memory mean"), 10, PERCENT),
            Column(_("Memory peak"), 10, PERCENT),
            Column(_("Fullest storage"), 14),
            Column(_("Storage peak"), 10, PERCENT),
            Column(_("Hottest sensor"), 14),
            Column(_("Temperature (°C)"), 10, "0.0"),
            Column(_("Fans"), 7),
            Column(_("Fans failed"), 8),
            Column(_("Power supplies"), 8),
            Column(_("Power supplies failed"), 10),
            Column(_("Interface errors peak (/s)"), 12, DECIMAL),
            Column(_("UPS charge min."), 10, PERCENT),
            Column(_("UPS minutes remaining min."), 12, "0.0"),
            Column(_("Samples on battery"), 10),
            Column(_("Replace battery"), 9),
            Column(_("Tickets"), 18),
            Column(_("Reason (unknown)"), 30),
            Column(_("Last seen"), 16, DATETIME),
        ],
        (
            [
                index,
                d.name,
                out.label(KINDS, d.kind),
                d.site,
                d.vendor,
                d.model,
                d.serial,
                d.address,
                d.warranty_end,
                out.label(VERDICTS, d.verdict),
                d.figures.availability,
                d.figures.inspections,
                d.figures.cpu.mean,
                d.figures.cpu.peak,
                d.figures.memory.mean,
                d.figures.memory.peak,
                d.figures.fullest_storage.name if d.figures.fullest_storage else None,
                d.figures.fullest_storage.value if d.figures.fullest_storage else None,
                d.figures.hottest.name if d.figures.hottest else None,
                d.figures.hottest.value if d.figures.hottest else None,
                d.figures.fans,
                d.figures.fans_failed,
                d.figures.power_supplies,
                d.figures.power_supplies_failed,
                d.figures.interface_errors_peak,
                d.figures.ups.charge_min if d.figures.ups else None,
                d.figures.ups.minutes_remaining_min if d.figures.ups else None,
                d.figures.ups.on_battery_samples if d.figures.ups else None,
                (_("Yes") if d.figures.ups.replace_battery else _("No")) if d.figures.ups else None,
                ", ".join(d.findings) or None,
                d.unknown_reason,
                d.last_seen,
            ]
            for index, d in enumerate(report.devices, start=1)
        ),
    )
    out.table(
        _("Problems found"),
        [
            Column(_("Ticket"), 17),
            Column(_("Device"), 18),
            Column(_("Level"), 9),
            Column(_("Rule"), 18),
            Column(_("Problem"), 30),
            Column(_("Detected"), 16, DATETIME),
            Column(_("Status"), 12),
            Column(_("Recovered"), 16, DATETIME),
            Column(_("Resolved"), 16, DATETIME),
            Column(_("Cause"), 30),
        ],
        (
            [
                f.ticket,
                f.device,
                out.level(f.level),
                f.rule,
                f.title,
                f.detected_at,
                out.label(STATUSES, f.status),
                f.recovered_at,
                f.resolved_at,
                f.cause,
            ]
            for f in report.findings
        ),
    )
    out.table(
        _("Carried over"),
        [
            Column(_("Ticket"), 17),
            Column(_("Device"), 18),
            Column(_("Level"), 9),
            Column(_("Problem"), 30),
            Column(_("Detected"), 16, DATETIME),
            Column(_("Status"), 12),
            Column(_("Fixed"), 8),
            Column(_("Fixed at"), 16, DATETIME),
        ],
        (
            [
                c.ticket,
                c.device,
                out.level(c.level),
                c.title,
                c.detected_at,
                out.label(STATUSES, c.status),
                _("Yes") if c.fixed else _("No"),
                c.fixed_at,
            ]
            for c in report.carried_over
        ),
    )
    out.table(
        _("Expiring soon"),
        [
            Column(_("Type"), 10),
            Column(_("Contract or device"), 20),
            Column(_("Ends"), 12, DATE),
            Column(_("Days left"), 10),
        ],
        ([out.label(EXPIRING, e.kind), e.name, e.ends, e.days_left] for e in report.expiring),
    )
    out.table(
        _("Unmanaged devices"),
        [
            Column(_("Device"), 20),
            Column(_("Source"), 24),
            Column(_("First seen"), 16, DATETIME),
            Column(_("Last seen"), 16, DATETIME),
        ],
        ([u.device, u.source, u.first_seen, u.last_seen] for u in report.unmanaged),
    )
    return out.save()


# --- the quarterly statistics ---------------------------------------------------------------


def _stats_columns(out: _Sheets) -> tuple[list[Column], Callable[[TicketStats], list[Any]]]:
    """The columns of one :class:`TicketStats` per row, and how to fill a row."""
    _ = out.gettext
    columns = [Column(_("Name"), 22), Column(_("Tickets"), 8)]
    columns += [Column(out.level(lv), 7) for lv in _LEVELS]
    for clock in CLOCKS:
        name = out.label(CLOCKS, clock)
        columns += [
            Column(_("%(clock)s: measured") % {"clock": name}, 10),
            Column(_("%(clock)s: met") % {"clock": name}, 10),
            Column(_("%(clock)s: missed") % {"clock": name}, 10),
            Column(_("%(clock)s: compliance") % {"clock": name}, 11, PERCENT),
        ]
    times = {
        "acknowledge": _("Time to acknowledge"),
        "arrive": _("Time to arrive or plan"),
        "resolve": _("Time to resolve"),
    }
    for label in times.values():
        columns += [
            Column(_("%(time)s, mean (h)") % {"time": label}, 12, HOURS),
            Column(_("%(time)s, 90th percentile (h)") % {"time": label}, 12, HOURS),
        ]
    columns += [
        Column(_("Repeat incidents"), 10),
        Column(_("Reopened"), 9),
        Column(_("Reopen rate"), 9, PERCENT),
        Column(_("Escalations"), 10),
        Column(_("Parts used"), 9),
        Column(_("RMAs"), 7),
        Column(_("Satisfaction: sign-offs"), 10),
        Column(_("Satisfaction: mean (1-5)"), 10, DECIMAL),
    ]

    def row(t: TicketStats) -> list[Any]:
        values: list[Any] = [t.name, t.tickets, *(getattr(t.by_level, lv) for lv in _LEVELS)]
        for clock in CLOCKS:
            c = t.compliance.get(clock)  # type: ignore[call-overload]
            values += [c.measured, c.met, c.missed, c.ratio] if c else [None] * 4
        for key in times:
            d = t.times.get(key)  # type: ignore[call-overload]
            values += [hours(d.mean_seconds), hours(d.p90_seconds)] if d else [None, None]
        values += [
            t.repeat_incidents,
            t.reopened,
            t.reopen_rate,
            t.escalations,
            t.parts_used,
            t.rmas,
            t.satisfaction.count,
            t.satisfaction.mean,
        ]
        return values

    return columns, row


def quarterly_workbook(report: QuarterlyReport) -> bytes:
    out = _Sheets(report.language, report.period.timezone)
    _ = out.gettext
    columns, stats_row = _stats_columns(out)
    totals = report.totals
    # The summary is the company's (or scope's) stats row turned on its side.
    summary: list[tuple[str, Any, str | None]] = [
        (_("Report number"), report.number, None),
        (_("Period start"), report.period.start, DATE),
        (_("Period end"), report.period.end, DATE),
    ]
    summary += [
        (column.title, value, column.number_format)
        for column, value in zip(columns, stats_row(totals), strict=True)
    ]
    internal = getattr(report, "internal_tickets", None)
    if internal is not None:
        summary.append((_("Monitoring's own tickets"), internal, None))
    out.fields(_("Summary"), summary)
    out.table(_("By customer"), columns, (stats_row(t) for t in report.customers))
    out.table(_("By contract"), columns, (stats_row(t) for t in report.contracts))
    out.table(
        _("By month"),
        [Column(_("Month"), 10), *(Column(out.level(lv), 8) for lv in _LEVELS)],
        (_month_row(month, counts) for month, counts in sorted(totals.by_month.items())),
    )
    out.table(
        _("By fault type"),
        [Column(_("Rule"), 26), Column(_("Tickets"), 10)],
        sorted(([rule, n] for rule, n in totals.by_rule.items()), key=lambda r: (-r[1], r[0])),
    )
    out.table(
        _("SLA misses"),
        [
            Column(_("Ticket"), 17),
            Column(_("Customer"), 16),
            Column(_("Contract"), 16),
            Column(_("Level"), 9),
            Column(_("Clock"), 12),
            Column(_("Due"), 16, DATETIME),
            Column(_("Met"), 16, DATETIME),
            Column(_("Late by (h)"), 10, HOURS),
            Column(_("Cause"), 36),
        ],
        (
            [
                x.ticket,
                x.customer,
                x.contract,
                out.level(x.level),
                out.label(CLOCKS, x.clock),
                x.due,
                x.met_at,
                hours(x.late_seconds),
                x.cause,
            ]
            for x in report.misses
        ),
    )
    out.table(
        _("Engineers"),
        [
            Column(_("Engineer"), 14),
            Column(_("Tickets"), 9),
            Column(_("Acknowledged"), 10),
            Column(_("Resolved"), 9),
            Column(_("Mean time to acknowledge (h)"), 14, HOURS),
            Column(_("Mean time to resolve (h)"), 14, HOURS),
            Column(_("Misses"), 9),
            Column(_("Satisfaction: mean (1-5)"), 10, DECIMAL),
        ],
        (
            [
                e.name,
                e.tickets,
                e.acknowledged,
                e.resolved,
                hours(e.mean_acknowledge_seconds),
                hours(e.mean_resolve_seconds),
                e.misses,
                e.satisfaction,
            ]
            for e in report.engineers
        ),
    )
    out.table(
        _("Availability"),
        [
            Column(_("Device"), 20),
            Column(_("Customer"), 16),
            Column(_("Contract"), 16),
            Column(_("Availability"), 12, PERCENT),
            Column(_("In service hours"), 12, PERCENT),
        ],
        (
            [a.device, a.customer, a.contract, a.availability, a.service_availability]
            for a in report.availability
        ),
    )
    out.table(
        _("Devices with the most tickets"),
        [Column(_("Device"), 22), Column(_("Tickets"), 10)],
        ([r.name, r.tickets] for r in report.top_devices),
    )
    out.table(
        _("Rules with the most tickets"),
        [Column(_("Rule"), 26), Column(_("Tickets"), 10)],
        ([r.name, r.tickets] for r in report.top_rules),
    )
    out.table(
        _("Parts"),
        [
            Column(_("Ticket"), 17),
            Column(_("Device"), 18),
            Column(_("Part number"), 16),
            Column(_("Part"), 24),
            Column(_("Quantity"), 9),
            Column(_("RMA"), 16),
            Column(_("RMA status"), 12),
        ],
        (
            [p.ticket, p.device, p.part_number, p.name, p.quantity, p.rma_number, p.rma_status]
            for p in report.parts
        ),
    )
    out.table(
        _("Trend"),
        [
            Column(_("Quarter"), 10),
            Column(_("Tickets"), 9),
            *(Column(out.label(CLOCKS, clock), 11, PERCENT) for clock in CLOCKS),
            Column(_("Mean time to resolve (h)"), 14, HOURS),
        ],
        (
            [
                q.label,
                q.tickets,
                *(q.compliance.get(clock) for clock in CLOCKS),  # type: ignore[call-overload]
                hours(q.mean_resolve_seconds),
            ]
            for q in report.trend
        ),
    )
    return out.save()


def _month_row(month: str, counts: LevelCounts) -> list[Any]:
    return [month, *(getattr(counts, lv) for lv in _LEVELS)]
