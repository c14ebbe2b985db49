"""The quarterly service statistics: for the company, per customer and per contract.

Tickets per level, month and fault type; each SLA clock's compliance with every miss
and its recorded cause; time to acknowledge, arrive and resolve as the clocks count it;
repeat incidents, reopenings, escalations, parts and RMAs, satisfaction, engineers,
device availability against the contracts' service hours, the top devices and fault
types, and the last four quarters' trend.

Four queries read the tickets of the four quarters with their events, escalations and
parts; each ticket's clocks are replayed once and every scope is summed from those
facts. Internal tickets (monitoring's own faults) are kept out of every figure: they
would count our collectors' outages against the customers' SLA. The company-wide
report gives their number alone, as ``internal_tickets``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from desk.reports.build_common import code_of, company_of, contract_active, mean
from desk.reports.errors import unknown_name
from desk.reports.inspection import find_customer
from desk.reports.model import (
    DeviceAvailability,
    Language,
    PartLine,
    Period,
    QuarterlyReport,
    QuarterPoint,
    Ranked,
)
from desk.reports.periods import (
    is_quarter,
    months_of,
    previous_quarters,
    quarter_of,
    utc_bounds,
)
from desk.reports.reads import TicketScope, count_internal, load_tickets, up_totals
from desk.reports.stats_tickets import (
    CLOCKS,
    EVENT_KINDS,
    TicketFacts,
    compliance,
    engineer_stats,
    misses,
    ticket_facts,
    ticket_stats,
)
from desk.storage import Store
from weibao.inventory.model import Contract, Customer, DeviceContext, Inventory

TOP = 10


def build_quarterly(
    store: Store,
    inventory: Inventory,
    start: date,
    end: date,
    now: datetime,
    *,
    customer: str | None = None,
    contract: str | None = None,
    language: Language = "zh",
    logo_dir: Path | None = None,
) -> QuarterlyReport:
    """The statistics of the local days start..end (a quarter, usually), for the whole
    company or one customer or contract. Raises ReportError for an unknown name."""
    cust, con = _scope(inventory, customer, contract)
    contexts = [
        ctx
        for ctx in inventory.contexts()
        if (cust is None or ctx.customer.name == cust.name)
        and (con is None or ctx.contract.id == con.id)
        and contract_active(start, end, ctx.contract.start, ctx.contract.end)
    ]
    tz = (
        contexts[0].site.timezone
        if cust is not None and contexts
        else inventory.reports.delivery.timezone
    )
    t0, t1 = utc_bounds(start, end, tz)
    cutoff = min(t1, now)
    quarters = [*previous_quarters(start, 4)[:-1], (start, end, _label(start, end))]
    q0 = utc_bounds(quarters[0][0], quarters[0][1], tz)[0]
    scope = TicketScope(
        q0,
        t1,
        customers=None if cust is None else [cust.name],
        contract=None if con is None else con.id,
        internal=False,
        overlapping=False,
    )
    bundle = load_tickets(store, scope, event_kinds=EVENT_KINDS, opened_level_only=True)
    all_facts = ticket_facts(bundle, inventory.device_index(), cutoff, tz)
    facts = [f for f in all_facts if t0 <= f.ticket.detected_at < t1]
    months = months_of(start, end)
    by_customer: dict[str, list[TicketFacts]] = defaultdict(list)
    by_contract: dict[str, list[TicketFacts]] = defaultdict(list)
    for f in facts:
        by_customer[f.ticket.customer].append(f)
        by_contract[f.ticket.contract].append(f)
    missed = misses(facts, cutoff)
    settings = inventory.reports
    scope_kind: Literal["company", "customer", "contract"] = (
        "contract" if con else "customer" if cust else "company"
    )
    scope_name = con.id if con else cust.name if cust else settings.company.name
    return QuarterlyReport(
        number=_number(cust, con, start, end),
        language=language,
        generated_at=now,
        company=company_of(settings.company, logo_dir),
        confidentiality=settings.confidentiality,
        period=Period(start=start, end=end, timezone=tz, label=_label(start, end)),
        customer=cust.name if cust else None,
        contract=con.id if con else None,
        totals=ticket_stats(scope_kind, scope_name, facts, months),
        customers=[
            ticket_stats("customer", name, by_customer.get(name, []), months)
            for name in _names([ctx.customer.name for ctx in contexts], by_customer)
        ],
        contracts=[
            ticket_stats("contract", cid, by_contract.get(cid, []), months)
            for cid in _names([ctx.contract.id for ctx in contexts], by_contract)
        ],
        misses=missed,
        engineers=engineer_stats(facts, missed),
        availability=_availability(store, contexts, start, end),
        top_devices=_top(f.ticket.device for f in facts),
        top_rules=_top(f.ticket.rule for f in facts),
        parts=_parts(facts),
        trend=[_point(label, _within(all_facts, a, b, tz)) for a, b, label in quarters],
        internal_tickets=count_internal(store, t0, t1) if scope_kind == "company" else None,
    )


def _scope(
    inventory: Inventory, customer: str | None, contract: str | None
) -> tuple[Customer | None, Contract | None]:
    cust = find_customer(inventory, customer) if customer is not None else None
    if contract is None:
        return cust, None
    candidates = [
        (cu, co)
        for cu in inventory.customers
        if cust is None or cu.name == cust.name
        for co in cu.contracts
    ]
    for cu, co in candidates:
        if co.id == contract:
            return cu, co
    where = "in the inventory" if cust is None else f"for customer {cust.name}"
    raise unknown_name("contract", contract, [co.id for _, co in candidates], where)


def _names(known: Sequence[str], seen: Iterable[str]) -> list[str]:
    """The scope's customers (or contracts) in inventory order, then any that only
    tickets name (a contract since removed from the inventory)."""
    return list(dict.fromkeys([*known, *sorted(set(seen) - set(known))]))


def _within(facts: Sequence[TicketFacts], start: date, end: date, tz: str) -> list[TicketFacts]:
    a, b = utc_bounds(start, end, tz)
    return [f for f in facts if a <= f.ticket.detected_at < b]


def _point(label: str, facts: Sequence[TicketFacts]) -> QuarterPoint:
    resolve = [v for f in facts if (v := f.used("resolve")) is not None]
    return QuarterPoint(
        label=label,
        tickets=len(facts),
        compliance={c: compliance(facts, c).ratio for c in CLOCKS},
        mean_resolve_seconds=mean(resolve),
    )


def _availability(
    store: Store, contexts: Sequence[DeviceContext], start: date, end: date
) -> list[DeviceAvailability]:
    """Availability per contracted device from its daily ``up`` rollups, each over its
    own site's days; within service hours as the rollups counted them against the
    contract's calendar (all hours for a 24x7 contract)."""
    bounds = {ctx.device.name: utc_bounds(start, end, ctx.site.timezone) for ctx in contexts}
    totals = up_totals(store, bounds) if bounds else {}
    out = []
    for ctx in contexts:
        up = totals.get(ctx.device.name)
        overall = up.sum / up.count if up and up.count else None
        service = up.service_sum / up.service_count if up and up.service_count else None
        if ctx.contract.calendar is None and service is None:
            service = overall
        out.append(
            DeviceAvailability(
                device=ctx.device.name,
                customer=ctx.customer.name,
                contract=ctx.contract.id,
                availability=overall,
                service_availability=service,
            )
        )
    return out


def _top(names: Iterable[str]) -> list[Ranked]:
    counts = Counter(names)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [Ranked(name=n, tickets=c) for n, c in ranked]


def _parts(facts: Sequence[TicketFacts]) -> list[PartLine]:
    return [
        PartLine(
            ticket=f.ticket.number,
            device=p.device,
            part_number=p.part_number,
            name=p.name,
            quantity=p.quantity,
            rma_number=p.rma_number,
            rma_status=p.rma_status,
        )
        for f in facts
        for p in f.parts
    ]


def _number(cust: Customer | None, con: Contract | None, start: date, end: date) -> str:
    """``TJ-<scope>-<YYYY>Q<n>``: ALL for the company, the customer's code, the contract."""
    who = con.id if con else code_of(cust) if cust else "ALL"
    if is_quarter(start, end):
        year, quarter = quarter_of(start)
        return f"TJ-{who}-{year}Q{quarter}"
    return f"TJ-{who}-{start:%Y%m%d}-{end:%Y%m%d}"


def _label(start: date, end: date) -> str:
    if is_quarter(start, end):
        year, quarter = quarter_of(start)
        return f"{year}-Q{quarter}"
    return f"{start.isoformat()}..{end.isoformat()}"
