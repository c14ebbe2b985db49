"""Ticket statistics: each ticket's facts worked out once (clocks replayed, reopenings,
satisfaction), then summed into any scope (the company, a customer, a contract, an
engineer, a quarter) without touching the database again.

SLA compliance is judged the way the clocks judge it (:mod:`desk.clocks`): a clock is
*measured* once it was met or its due time passed; *met* in time when it stopped at or
before its due time; *missed* when it stopped late or was still running past it. The
due time is the contract's term counted in its business hours where it has a calendar,
moved on by pauses of the resolution clock, or the one agreed with the customer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from desk.clocks import MEETS, ClockName, ClockPolicy, ClockView, ClockViews, clock_views
from desk.model import SYSTEM_ACTOR, EventKind
from desk.reports.build_common import mean, p90, ratio, views_at
from desk.reports.model import (
    ClockCompliance,
    ClockKey,
    Durations,
    EngineerStats,
    LevelCounts,
    Miss,
    Satisfaction,
    TicketStats,
)
from desk.reports.periods import local_date
from desk.reports.reads import TicketBundle
from desk.storage.records import EventRecord, PartUseRecord, TicketRecord
from weibao.inventory.model import DeviceContext

CLOCKS: tuple[ClockKey, ...] = ("response", "onsite", "resolve")
EVENT_KINDS: frozenset[str] = frozenset(
    {
        # The clocks' replay (desk.clocks): level, the steps that stop them, pauses,
        # reopenings, agreed due times.
        EventKind.opened,
        EventKind.level_raised,
        *(kind for kinds in MEETS.values() for kind in kinds),
        EventKind.resolved,
        EventKind.reopened,
        EventKind.paused,
        EventKind.resumed,
        EventKind.due_moved,
        # Folded into an upstream's ticket, satisfaction, the causes of misses.
        EventKind.merged,
        EventKind.signed_off,
        EventKind.note,
    }
)
"""The event kinds the statistics read; the rest of a log (evidence, escalation
probes, recoveries, assignments) changes no figure, so it is not loaded."""
TIMES: dict[Literal["acknowledge", "arrive", "resolve"], ClockKey] = {
    "acknowledge": "response",
    "arrive": "onsite",
    "resolve": "resolve",
}


@dataclass(frozen=True)
class TicketFacts:
    """One ticket as the statistics see it at the period's end, its clocks judged once."""

    ticket: TicketRecord
    events: tuple[EventRecord, ...]
    """Up to the period's end only: a later step does not change a past quarter."""
    views: ClockViews
    month: str
    reopened: bool
    satisfaction: int | None
    escalations: int
    parts: tuple[PartUseRecord, ...]
    measured_clocks: frozenset[str] = frozenset()
    """Clocks met, or past their due time: the ones compliance counts."""
    missed_clocks: frozenset[str] = frozenset()
    used_seconds: dict[str, float] = field(default_factory=dict)
    """Counted seconds until each met clock was met."""

    def measured(self, clock: ClockKey) -> bool:
        return clock in self.measured_clocks

    def missed(self, clock: ClockKey) -> bool:
        return clock in self.missed_clocks

    def used(self, clock: ClockKey) -> float | None:
        """Counted seconds until the clock was met; None while it runs."""
        return self.used_seconds.get(clock)

    def actor_of(self, kind: str) -> str | None:
        """Who took the step (the last time, for a resolution after a reopen)."""
        found = [e.actor for e in self.events if e.kind == kind and e.actor != SYSTEM_ACTOR]
        return found[-1] if found else None


def ticket_facts(
    bundle: TicketBundle, contexts: dict[str, DeviceContext], cutoff: datetime, timezone: str
) -> list[TicketFacts]:
    out = []
    # One clock policy per device, not per ticket: what views_at does, without working
    # out the contract's terms 20,000 times.
    policies: dict[str, ClockPolicy] = {}
    for t in bundle.tickets:
        events = tuple(e for e in bundle.events_of(t) if e.at <= cutoff)
        signed = [e for e in events if e.kind == EventKind.signed_off and "satisfaction" in e.data]
        ctx = contexts.get(t.device)
        if ctx is None:
            views = views_at(t, events, contexts, cutoff)
        else:
            policy = policies.get(t.device)
            if policy is None:
                policy = policies[t.device] = ClockPolicy.of(ctx)
            views = clock_views(policy, t.level, t.detected_at, events, cutoff)
        clocks = {c: views[ClockName(c)] for c in CLOCKS}
        if folded_at(events) is not None:
            # Folded into its upstream's outage ticket: the clocks it had not met run on
            # that ticket; counting them here would be a miss nobody could have avoided.
            clocks = {c: v for c, v in clocks.items() if v.met_at is not None}
        out.append(
            TicketFacts(
                ticket=t,
                events=events,
                views=views,
                month=f"{local_date(t.detected_at, timezone):%Y-%m}",
                reopened=any(e.kind == EventKind.reopened for e in events),
                satisfaction=int(signed[-1].data["satisfaction"]) if signed else None,
                escalations=sum(1 for *_, at in bundle.escalations.get(t.id, []) if at <= cutoff),
                parts=tuple(p for p in bundle.parts.get(t.id, []) if p.at <= cutoff),
                measured_clocks=frozenset(
                    c for c, v in clocks.items() if v.met_at is not None or v.breached
                ),
                missed_clocks=frozenset(c for c, v in clocks.items() if v.breached),
                used_seconds={
                    c: v.used.total_seconds() for c, v in clocks.items() if v.met_at is not None
                },
            )
        )
    return out


def folded_at(events: Iterable[EventRecord]) -> datetime | None:
    """When the ticket was folded into an upstream device's outage ticket, if it was."""
    for e in events:
        if e.kind == EventKind.merged and e.data.get("how") == "folded":
            return e.at
    return None


def ticket_stats(
    scope: Literal["company", "customer", "contract"],
    name: str,
    facts: Sequence[TicketFacts],
    months: Sequence[str],
) -> TicketStats:
    by_month: dict[str, dict[str, int]] = {
        m: dict.fromkeys(("I", "II", "III", "IV"), 0) for m in months
    }
    for f in facts:
        by_month.setdefault(f.month, dict.fromkeys(("I", "II", "III", "IV"), 0))
        by_month[f.month][f.ticket.level.value] += 1
    reopened = sum(1 for f in facts if f.reopened)
    return TicketStats(
        scope=scope,
        name=name,
        tickets=len(facts),
        by_level=_levels(f.ticket for f in facts),
        by_month={m: LevelCounts(**c) for m, c in sorted(by_month.items())},
        by_rule=dict(Counter(f.ticket.rule for f in facts).most_common()),
        compliance={c: compliance(facts, c) for c in CLOCKS},
        times={k: durations(facts, c) for k, c in TIMES.items()},
        repeat_incidents=sum(1 for f in facts if f.ticket.recurrences or f.ticket.related),
        reopened=reopened,
        reopen_rate=ratio(reopened, len(facts)),
        escalations=sum(f.escalations for f in facts),
        parts_used=sum(p.quantity for f in facts for p in f.parts),
        rmas=sum(1 for f in facts for p in f.parts if p.rma_number),
        satisfaction=satisfaction(facts),
    )


def compliance(facts: Iterable[TicketFacts], clock: ClockKey) -> ClockCompliance:
    measured = [f for f in facts if f.measured(clock)]
    missed = sum(1 for f in measured if f.missed(clock))
    return ClockCompliance(
        measured=len(measured),
        met=len(measured) - missed,
        missed=missed,
        ratio=ratio(len(measured) - missed, len(measured)),
    )


def durations(facts: Iterable[TicketFacts], clock: ClockKey) -> Durations:
    values = [v for f in facts if (v := f.used(clock)) is not None]
    return Durations(count=len(values), mean_seconds=mean(values), p90_seconds=p90(values))


def satisfaction(facts: Iterable[TicketFacts]) -> Satisfaction:
    scores = [f.satisfaction for f in facts if f.satisfaction is not None]
    counts = Counter(scores)
    return Satisfaction(
        count=len(scores),
        mean=mean(scores),
        distribution={str(s): counts.get(s, 0) for s in range(1, 6)},
    )


def misses(facts: Iterable[TicketFacts], cutoff: datetime) -> list[Miss]:
    """Every missed clock with its ticket and what the ticket records about why."""
    out = []
    for f in facts:
        for clock in CLOCKS:
            if not f.missed(clock):
                continue
            view = f.views[ClockName(clock)]
            late = (view.met_at or cutoff) - view.due
            out.append(
                Miss(
                    ticket=f.ticket.number,
                    customer=f.ticket.customer,
                    contract=f.ticket.contract,
                    level=f.views.level.value,
                    clock=clock,
                    due=view.due,
                    met_at=view.met_at,
                    late_seconds=late.total_seconds(),
                    cause=miss_cause(f, view),
                )
            )
    return sorted(out, key=lambda m: (m.due, m.ticket, CLOCKS.index(m.clock)))


def miss_cause(f: TicketFacts, view: ClockView) -> str | None:
    """The note of the step that stopped the clock late, else the latest note, else the
    resolution's cause, else a pause reason: the first thing a person wrote about it."""
    candidates: list[object] = []
    kinds = MEETS.get(view.name, frozenset({EventKind.resolved}))
    meeting = next((e for e in f.events if e.kind in kinds and e.at == view.met_at), None)
    if meeting is not None:
        candidates.append(meeting.data.get("note"))
    notes = [e.data.get("text") for e in f.events if e.kind == EventKind.note]
    candidates.append(notes[-1] if notes else None)
    resolved = [e for e in f.events if e.kind == EventKind.resolved]
    candidates.append(resolved[-1].data.get("cause") if resolved else None)
    pauses = [e.data.get("reason") for e in f.events if e.kind == EventKind.paused]
    candidates.append(pauses[-1] if pauses else None)
    return next((str(c) for c in candidates if c), None)


def engineer_stats(facts: Sequence[TicketFacts], missed: Sequence[Miss]) -> list[EngineerStats]:
    """Per engineer: tickets assigned to them, steps they took, their tickets' misses."""
    assigned: dict[str, list[TicketFacts]] = defaultdict(list)
    acked: dict[str, list[TicketFacts]] = defaultdict(list)
    resolved: dict[str, list[TicketFacts]] = defaultdict(list)
    for f in facts:
        if f.ticket.assignee:
            assigned[f.ticket.assignee].append(f)
        if (who := f.actor_of(EventKind.acknowledged)) is not None:
            acked[who].append(f)
        who = f.actor_of(EventKind.resolved)
        if who is not None and f.views[ClockName.resolve].met_at is not None:
            resolved[who].append(f)
    misses_of = Counter(m.ticket for m in missed)
    names = sorted(set(assigned) | set(acked) | set(resolved))
    out = []
    for name in names:
        mine = assigned.get(name, [])
        ack_times = [v for f in acked.get(name, []) if (v := f.used("response")) is not None]
        res_times = [v for f in resolved.get(name, []) if (v := f.used("resolve")) is not None]
        scores = [f.satisfaction for f in mine if f.satisfaction is not None]
        out.append(
            EngineerStats(
                name=name,
                tickets=len(mine),
                acknowledged=len(acked.get(name, [])),
                resolved=len(resolved.get(name, [])),
                mean_acknowledge_seconds=mean(ack_times),
                mean_resolve_seconds=mean(res_times),
                misses=sum(misses_of[f.ticket.number] for f in mine),
                satisfaction=mean(scores),
            )
        )
    return out


def _levels(tickets: Iterable[TicketRecord]) -> LevelCounts:
    counts = Counter(t.level.value for t in tickets)
    return LevelCounts(**{lv: counts.get(lv, 0) for lv in ("I", "II", "III", "IV")})
