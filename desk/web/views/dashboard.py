"""The service manager's dashboard: load, clocks at risk, escalations, coverage, devices
reporting without a contract, and notifications that never arrived.

Clocks at risk are counted from each open ticket's stored clock columns
(:func:`desk.web.views.queries.standings`, exactly what a replay gives); only the
tickets the page lists are replayed from their events and worded.

Coverage asks one question per contracted device: did it have a successful inspection
in the last 24 hours? The answer comes from one grouped query over that window; the
reason for a device without one (never reported, failing, silent since ...) is looked
up only for the few devices the page lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.clocks import ClockName, public_name
from desk.i18n import level_column
from desk.storage import Store
from desk.storage.records import OutboxRecord, UnknownDeviceRecord
from desk.web.views.common import (
    SHORT,
    ClockCell,
    Gettext,
    clock_cells,
    clock_label,
    level_text,
    local,
)
from desk.web.views.directory import Directory
from desk.web.views.queries import (
    RISK_BREACH,
    EscalationLine,
    LineFilter,
    Pending,
    Standing,
    clock_events,
    last_observation,
    last_ok_since,
    open_counts,
    recent_escalations,
    replay_all,
    standings,
    ticket_lines,
)
from weibao.levels import Level

COVERAGE_WINDOW = timedelta(hours=24)
LISTED = 20


@dataclass(frozen=True)
class LoadRow:
    customer: str
    counts: list[int]
    """Per level, I to IV."""
    total: int
    internal: bool = False


@dataclass(frozen=True)
class RiskRow:
    number: str
    title: str
    customer: str
    level: str
    level_label: str
    clock: ClockCell


@dataclass(frozen=True)
class ClockTally:
    label: str
    at_risk: int
    breached: int


@dataclass(frozen=True)
class Uncovered:
    device: str
    customer: str
    site: str
    contract: str
    reason: str


@dataclass(frozen=True)
class EscalationRowView:
    number: str
    customer: str
    title: str
    level: str
    level_label: str
    clock_label: str
    step_label: str
    at_local: str


@dataclass(frozen=True)
class Dashboard:
    load: list[LoadRow]
    levels: list[tuple[str, str]]
    tallies: list[ClockTally]
    risks: list[RiskRow]
    risk_total: int
    escalations: list[EscalationRowView]
    contracted: int
    uncovered: list[Uncovered]
    uncovered_total: int
    unknown: list[UnknownDeviceRecord]
    outbox_counts: dict[str, int]
    outbox_failed: list[OutboxRecord]
    customers: list[str]


def step_label(step: str, _: Gettext) -> str:
    labels = {
        "warning": _("warning"),
        "cannot_meet": _("cannot be met"),
        "breached": _("breached"),
    }
    return labels.get(step, step)


def build_dashboard(
    store: Store,
    directory: Directory,
    now: datetime,
    language: str,
    _: Gettext,
) -> Dashboard:
    tallies = {c: [0, 0] for c in ClockName}
    risky: list[tuple[tuple[int, datetime], Standing, Pending]] = []
    for standing in standings(store, LineFilter(active=True), directory.policies, now):
        worst: Pending | None = None
        for pending in standing.pending:
            name, due, risk = pending
            if not risk:
                continue
            tallies[name][risk == RISK_BREACH] += 1
            if worst is None or due < worst[1]:
                worst = pending
        if worst is not None:
            risky.append(((0 if worst[2] == RISK_BREACH else 1, worst[1]), standing, worst))
    risky.sort(key=lambda r: r[0])
    listed = risky[:LISTED]
    uncovered, uncovered_total, contracted = coverage(store, directory, now, _)
    return Dashboard(
        load=load_rows(store, directory),
        levels=[(lv.value, level_column(lv.value, language)) for lv in Level],
        tallies=[ClockTally(clock_label(c, _), *tallies[c]) for c in ClockName],
        risks=risk_rows(store, directory, [(s, p[0]) for _k, s, p in listed], now, language, _),
        risk_total=len(risky),
        escalations=[_escalation(e, language, _) for e in recent_escalations(store, LISTED)],
        contracted=contracted,
        uncovered=uncovered,
        uncovered_total=uncovered_total,
        unknown=store.unknown_devices()[:LISTED],
        outbox_counts=store.outbox_counts(),
        outbox_failed=store.outbox("failed", LISTED),
        customers=sorted(directory.customers),
    )


def risk_rows(
    store: Store,
    directory: Directory,
    listed: list[tuple[Standing, ClockName]],
    now: datetime,
    language: str,
    _: Gettext,
) -> list[RiskRow]:
    """The listed tickets, replayed from their events, each with its gravest clock."""
    ids = [s.id for s, _c in listed]
    if not ids:
        return []
    lines = {line.id: line for line in ticket_lines(store, LineFilter(ids=tuple(ids)))}
    views = replay_all(lines.values(), clock_events(store, ids=ids), directory.policies, now)
    rows = []
    for standing, clock in listed:
        line, view = lines[standing.id], views[standing.id]
        escalate_at = directory.policies.of(line).escalate_at
        cells = clock_cells(view, line.timezone, now, escalate_at, _)
        cell = next(c for c in cells if c.name == public_name(clock, view.level))
        rows.append(
            RiskRow(
                line.number,
                line.title,
                line.customer,
                view.level.value,
                level_text(view.level, language),
                cell,
            )
        )
    return rows


def load_rows(store: Store, directory: Directory) -> list[LoadRow]:
    """Open tickets per customer and level; our own (internal) tickets on one row."""
    counts = open_counts(store)
    names = sorted(set(directory.customers) | {c for c, _lv, i in counts if not i})
    rows = []
    for name in names:
        per = [counts.get((name, lv.value, False), 0) for lv in Level]
        rows.append(LoadRow(name, per, sum(per)))
    internal = [sum(n for (_c, lv, i), n in counts.items() if i and lv == x.value) for x in Level]
    if sum(internal):
        rows.append(LoadRow("", internal, sum(internal), internal=True))
    return rows


def coverage(
    store: Store, directory: Directory, now: datetime, _: Gettext
) -> tuple[list[Uncovered], int, int]:
    """Contracted devices without a successful inspection in the last 24 h, and why."""
    seen = last_ok_since(store, now - COVERAGE_WINDOW)
    contexts = directory.in_force(now.date())
    missing = [ctx for ctx in contexts if ctx.device.name not in seen]
    listed = []
    for ctx in missing[:LISTED]:
        last = last_observation(store, ctx.device.name)
        tz = ctx.site.timezone
        if last is None:
            reason = _("never reported")
        elif not last.ok:
            reason = _("last inspection failed at %(time)s: %(error)s") % {
                "time": local(last.time, tz, SHORT),
                "error": last.error or "?",
            }
        else:
            reason = _("silent since %(time)s") % {"time": local(last.time, tz, SHORT)}
        listed.append(
            Uncovered(ctx.device.name, ctx.customer.name, ctx.site.name, ctx.contract.id, reason)
        )
    return listed, len(missing), len(contexts)


def _escalation(e: EscalationLine, language: str, _: Gettext) -> EscalationRowView:
    clock = clock_label(e.clock, _, e.level)
    return EscalationRowView(
        number=e.number,
        customer=e.customer,
        title=e.title,
        level=e.level.value,
        level_label=level_text(e.level, language),
        clock_label=clock,
        step_label=step_label(e.step, _),
        at_local=local(e.at, e.timezone, SHORT),
    )
