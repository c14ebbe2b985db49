"""The inspection report (巡检报告) of one customer, or one contract, for one period.

Built from what the desk recorded, never typed in: the daily rollups give every
contracted device's figures and the days full inspections ran; the tickets give the
findings, their evidence (the firing samples and what the device answered, from the
ticket's snapshot), what became of the findings the last report left open, and the
advice of the rules that fired. A device that never answered is 未知 with the reason,
never 正常; internal tickets (monitoring's own faults) never appear.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from desk.reports.build_common import (
    DONE,
    UNRESOLVED,
    code_of,
    company_of,
    contract_active,
    count_levels,
    knowledge_of,
    status_at,
    unresolved_during,
)
from desk.reports.build_figures import (
    FIGURE_SERIES,
    INSPECTION_FULL,
    Reach,
    by_series,
    figures_of,
    inspection_days,
    reach_of,
)
from desk.reports.errors import unknown_name
from desk.reports.model import (
    CarriedOver,
    ContractRef,
    DeviceResult,
    Evidence,
    EvidenceSample,
    Expiring,
    Finding,
    InspectionReport,
    InspectionSummary,
    Language,
    Period,
    Recommendation,
    Signer,
    TicketSummary,
    Unmanaged,
    Verdict,
)
from desk.reports.periods import is_month, is_quarter, local_date, quarter_label, utc_bounds
from desk.reports.reads import TicketBundle, TicketScope, load_tickets
from desk.storage import Store, TicketRecord
from desk.storage.rollups import RollupReads, RollupTotal
from weibao.inventory.model import Contract, Customer, DeviceContext, Inventory

EXPIRY_HORIZON = timedelta(days=90)
RAW_KEYS = 2
"""Raw outputs kept per evidence: the one most relevant to the rule, then the next."""
RAW_LINES = 40
RAW_CHARS = 4000
# Which command or table answers which rule: a word of the rule or its samples -> words
# of the output's name. The first output that matches is the most relevant.
_RAW_HINTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("filesystem", "disk_full", "storage", "pool", "inode"), ("df", "zpool", "storage", "pool")),
    (("memory", "swap"), ("free", "meminfo", "memory", "vmstat")),
    (("cpu", "load"), ("uptime", "top", "cpu", "load", "vmstat")),
    (
        ("power_supply", "psu", "fan", "temperature", "sensor"),
        ("ipmitool", "sensor", "sdr", "psu", "fan", "power", "temp", "entity"),
    ),
    (
        ("interface", "link", "port", "errors"),
        ("ip -s", "ip link", "ifconfig", "interface", "ethtool", "link"),
    ),
    (("service", "systemd", "unit"), ("systemctl", "service")),
    (("smart", "disk_health", "raid"), ("smartctl", "raid", "megacli", "storcli")),
    (("ups", "battery"), ("ups", "battery", "get")),
    (("unreachable", "down", "reach", "inspection"), ("error",)),
)


def build_inspection(
    store: Store,
    inventory: Inventory,
    customer: str,
    start: date,
    end: date,
    now: datetime,
    *,
    contract: str | None = None,
    language: Language = "zh",
    logo_dir: Path | None = None,
) -> InspectionReport:
    """The report of ``customer`` (its name or code) for the local days start..end.

    ``logo_dir``: where a relative ``reports.company.logo`` is read from (the inventory
    file's directory). Raises ReportError for an unknown customer or contract.
    """
    cust = find_customer(inventory, customer)
    contracts = _contracts(cust, contract, start, end)
    contexts = [
        ctx
        for ctx in inventory.contexts()
        if ctx.customer.name == cust.name and ctx.contract.id in {c.id for c in contracts}
    ]
    tz = contexts[0].site.timezone if contexts else inventory.reports.delivery.timezone
    t0, t1 = utc_bounds(start, end, tz)
    cutoff = min(t1, now)
    bundle = load_tickets(
        store, TicketScope(t0, t1, customers=[cust.name], contract=contract), details=True
    )
    findings = [t for t in bundle.tickets if unresolved_during(t, bundle.events_of(t), t0, cutoff)]
    rollups, days = _device_rollups(store, contexts, start, end)
    devices = [
        _device(ctx, rollups.get(ctx.device.name, {}), findings, bundle, language)
        for ctx in contexts
    ]
    last_seen = RollupReads(store).last_seen([d.name for d in devices if d.verdict == "unknown"])
    devices = [_with_last_seen(d, last_seen.get(d.name), language) for d in devices]
    settings = inventory.reports
    return InspectionReport(
        number=_number(cust, contract, start, end),
        language=language,
        generated_at=now,
        company=company_of(settings.company, logo_dir),
        confidentiality=settings.confidentiality,
        customer=cust.name,
        customer_code=cust.code,
        contracts=[_contract_ref(c) for c in contracts],
        period=Period(start=start, end=end, timezone=tz, label=_label(start, end)),
        inspection_dates=sorted(d for d in days if start <= d <= end),
        signers=_signers(inventory, cust, contracts, local_date(now, tz)),
        summary=_summary(devices),
        tickets=_ticket_summary(bundle, t0, t1, cutoff),
        devices=devices,
        findings=[_finding(t, bundle, cutoff) for t in findings],
        carried_over=_carried_over(bundle, t0, cutoff),
        expiring=_expiring(contracts, contexts, start, end),
        unmanaged=_unmanaged(store, inventory, t0, t1),
        recommendations=_recommendations(findings),
    )


def find_customer(inventory: Inventory, name: str) -> Customer:
    for cust in inventory.customers:
        if name in (cust.name, cust.code):
            return cust
    raise unknown_name("customer", name, [c.name for c in inventory.customers])


def _contracts(cust: Customer, contract: str | None, start: date, end: date) -> list[Contract]:
    if contract is not None:
        for c in cust.contracts:
            if c.id == contract:
                return [c]
        raise unknown_name(
            "contract", contract, [c.id for c in cust.contracts], f"for customer {cust.name}"
        )
    return [c for c in cust.contracts if contract_active(start, end, c.start, c.end)]


def _device_rollups(
    store: Store, contexts: list[DeviceContext], start: date, end: date
) -> tuple[dict[str, dict[str, list[RollupTotal]]], set[date]]:
    """Each device's daily rollups folded over its own site's days (by the database: a
    month of 500 devices is 230,000 rows), per series; and the local days a full
    inspection ran on any of them. One read per time zone of the sites."""
    by_zone: dict[str, list[str]] = defaultdict(list)
    for ctx in contexts:
        by_zone[ctx.site.timezone].append(ctx.device.name)
    reads = RollupReads(store)
    grouped: dict[str, list[RollupTotal]] = defaultdict(list)
    days: set[date] = set()
    for zone, names in by_zone.items():
        lo, hi = utc_bounds(start, end, zone)
        for tot in reads.totals(lo, hi, grain="day", devices=names, series=FIGURE_SERIES):
            grouped[tot.device].append(tot)
        starts = reads.bucket_starts(lo, hi, INSPECTION_FULL, grain="day", devices=names)
        days |= inspection_days(starts, zone)
    return {device: by_series(tots) for device, tots in grouped.items()}, days


def _device(
    ctx: DeviceContext,
    series: dict[str, list[RollupTotal]],
    findings: list[TicketRecord],
    bundle: TicketBundle,
    language: Language,
) -> DeviceResult:
    dev = ctx.device
    # The gravest first, then the latest: the first is the one the PDF shows in full.
    mine = sorted(
        (t for t in findings if t.device == dev.name),
        key=lambda t: (t.level.rank, -t.detected_at.timestamp(), t.number),
    )
    reach = reach_of(series)
    verdict: Verdict = "unknown" if not reach.reached else "findings" if mine else "healthy"
    return DeviceResult(
        name=dev.name,
        kind=dev.kind.value,
        site=ctx.site.name,
        vendor=dev.vendor,
        model=dev.model,
        serial=dev.serial,
        address=dev.address,
        warranty_end=dev.warranty_end,
        verdict=verdict,
        unknown_reason=None if reach.reached else _why_unknown(reach, language),
        figures=figures_of(series),
        findings=[t.number for t in mine],
        evidence=[_evidence(t, bundle) for t in mine],
    )


def _why_unknown(reach: Reach, language: Language) -> str:
    """Never reached (inspected, never answered) and never reported (no result at all)
    call for different actions: the first the device or credentials, the second the
    collector or agent."""
    if reach.attempts:
        error = reach.last_error or ("无错误信息" if language == "zh" else "no error recorded")
        if language == "zh":
            return f"本期 {reach.attempts} 次巡检均未得到应答；最后错误：{error}"
        return f"never answered: {reach.attempts} inspections failed; last error: {error}"
    if language == "zh":
        return "本期未收到任何巡检结果（采集器或 agent 未上报）"
    return "never reported: no inspection result reached the desk in the period"


def _with_last_seen(
    device: DeviceResult, seen: datetime | None, language: Language
) -> DeviceResult:
    if device.verdict != "unknown" or seen is None:
        return device
    stamp = seen.strftime("%Y-%m-%d %H:%M UTC")
    more = f"；最后一次上报 {stamp}" if language == "zh" else f"; last seen {stamp}"
    return device.model_copy(
        update={"last_seen": seen, "unknown_reason": f"{device.unknown_reason}{more}"}
    )


def _evidence(ticket: TicketRecord, bundle: TicketBundle) -> Evidence:
    """The samples the rule fired on and what the device answered, bounded in size."""
    opened = next((e for e in bundle.events_of(ticket) if e.kind == "opened"), None)
    snapshot: dict[str, Any] = ticket.snapshot
    observation = snapshot.get("observation") or {}
    raw_samples = (opened.data.get("samples") if opened else None) or observation.get("samples")
    samples = [
        EvidenceSample(
            name=str(s["name"]), labels=dict(s.get("labels") or {}), value=float(s["value"])
        )
        for s in raw_samples or []
    ]
    outputs: dict[str, str] = {}
    if observation.get("error"):
        outputs["error"] = str(observation["error"])
    for key, text in ((snapshot.get("raw") or {}).get("outputs") or {}).items():
        outputs.setdefault(str(key), str(text))
    words = [ticket.rule, *(s.name for s in samples)]
    raw: dict[str, str] = {}
    raw_lines: dict[str, int] = {}
    for key in _by_relevance(list(outputs), words)[:RAW_KEYS]:
        raw[key] = _excerpt(outputs[key])
        raw_lines[key] = len(outputs[key].splitlines())
    return Evidence(
        ticket=ticket.number,
        level=ticket.level.value,
        rule=ticket.rule,
        title=ticket.title,
        samples=samples,
        raw=raw,
        raw_lines=raw_lines,
    )


def _by_relevance(keys: list[str], words: list[str]) -> list[str]:
    """The outputs' names, the one that best answers the rule first (``df`` for a full
    filesystem, ``ipmitool sdr`` for a failed power supply, the error for an unreachable
    device), the rest in their recorded order."""
    said = " ".join(words).lower()
    for topics, names in _RAW_HINTS:
        if not any(t in said for t in topics):
            continue
        for key in keys:
            low = key.lower()
            if any(low == n or low.startswith(n + " ") or (len(n) > 2 and n in low) for n in names):
                return [key, *(k for k in keys if k != key)]
    return keys


def _excerpt(text: str) -> str:
    lines = text.splitlines()
    cut = "\n".join(lines[:RAW_LINES])[:RAW_CHARS]
    return cut if len(cut) == len(text) else f"{cut}\n…"


def _finding(ticket: TicketRecord, bundle: TicketBundle, cutoff: datetime) -> Finding:
    events = bundle.events_of(ticket)
    resolved = next((e for e in reversed(events) if e.kind == "resolved" and e.at < cutoff), None)
    return Finding(
        ticket=ticket.number,
        device=ticket.device,
        level=ticket.level.value,
        rule=ticket.rule,
        title=ticket.title,
        detected_at=ticket.detected_at,
        status=status_at(ticket, events, cutoff).value,
        recovered_at=_before(ticket.recovered_at, cutoff),
        resolved_at=resolved.at if resolved else None,
        cause=str(resolved.data["cause"]) if resolved and resolved.data.get("cause") else None,
    )


def _before(at: datetime | None, cutoff: datetime) -> datetime | None:
    return at if at is not None and at < cutoff else None


def _carried_over(bundle: TicketBundle, t0: datetime, cutoff: datetime) -> list[CarriedOver]:
    """Findings from before the period whose fault had not cleared when it began: they
    stay on the list until an inspection sees the fault gone (recovered). A ticket
    closed before the period began left the list with its closing."""
    out = []
    for t in bundle.tickets:
        if t.detected_at >= t0 or (t.recovered_at is not None and t.recovered_at < t0):
            continue
        fixed_at = _before(t.recovered_at, cutoff)
        out.append(
            CarriedOver(
                ticket=t.number,
                device=t.device,
                level=t.level.value,
                title=t.title,
                detected_at=t.detected_at,
                status=status_at(t, bundle.events_of(t), cutoff).value,
                fixed=fixed_at is not None,
                fixed_at=fixed_at,
            )
        )
    return out


def _ticket_summary(
    bundle: TicketBundle, t0: datetime, t1: datetime, cutoff: datetime
) -> TicketSummary:
    opened = [t for t in bundle.tickets if t0 <= t.detected_at < t1]
    resolved = [t for t in opened if status_at(t, bundle.events_of(t), cutoff) in DONE]
    still = [t for t in bundle.tickets if status_at(t, bundle.events_of(t), cutoff) in UNRESOLVED]
    return TicketSummary(
        opened=count_levels(opened),
        resolved=count_levels(resolved),
        still_open=count_levels(still),
    )


def _summary(devices: list[DeviceResult]) -> InspectionSummary:
    verdicts = [d.verdict for d in devices]
    return InspectionSummary(
        devices=len(devices),
        inspected=len(devices) - verdicts.count("unknown"),
        healthy=verdicts.count("healthy"),
        findings=verdicts.count("findings"),
        unknown=verdicts.count("unknown"),
    )


def _signers(
    inventory: Inventory, cust: Customer, contracts: list[Contract], today: date
) -> list[Signer]:
    settings = inventory.reports
    sites = [s for c in (contracts or cust.contracts) for s in c.sites]
    engineer = next((s.engineers[0].name for s in sites if s.engineers), None)
    first = contracts[0] if contracts else (cust.contracts[0] if cust.contracts else None)
    manager = first.service_manager.name if first else None
    contact = first.customer_contact.name if first and first.customer_contact else None
    return [
        Signer(role="prepared", name=settings.prepared_by or engineer, date=today),
        Signer(role="checked", name=settings.checked_by or manager),
        Signer(role="approved", name=settings.approved_by),
        Signer(role="engineer", name=settings.prepared_by or engineer),
        Signer(role="customer", name=contact),
    ]


def _expiring(
    contracts: list[Contract], contexts: list[DeviceContext], start: date, end: date
) -> list[Expiring]:
    """Contracts and warranties that end in the period or within 90 days after it,
    counted from the period's last day (so the same report says the same thing)."""
    horizon = end + EXPIRY_HORIZON
    out = [
        Expiring(kind="contract", name=c.id, ends=c.end, days_left=(c.end - end).days)
        for c in contracts
        if start <= c.end <= horizon
    ]
    out += [
        Expiring(
            kind="warranty",
            name=ctx.device.name,
            ends=ctx.device.warranty_end,
            days_left=(ctx.device.warranty_end - end).days,
        )
        for ctx in contexts
        if ctx.device.warranty_end is not None and start <= ctx.device.warranty_end <= horizon
    ]
    return sorted(out, key=lambda e: (e.ends, e.kind, e.name))


def _unmanaged(store: Store, inventory: Inventory, t0: datetime, t1: datetime) -> list[Unmanaged]:
    """Devices that reported in the period but are under no contract. An observation of
    an unknown device says nothing about whose it is, so they are listed only when the
    inventory has a single customer: another customer's host names are confidential."""
    if len(inventory.customers) != 1:
        return []
    return [
        Unmanaged(device=u.device, source=u.source, first_seen=u.first_seen, last_seen=u.last_seen)
        for u in store.unknown_devices()
        if u.first_seen < t1 and u.last_seen >= t0
    ]


def _recommendations(findings: list[TicketRecord]) -> list[Recommendation]:
    """One piece of advice per rule that fired, from the knowledge stored on its tickets,
    the gravest first."""
    by_rule: dict[str, list[TicketRecord]] = defaultdict(list)
    for t in findings:
        by_rule[t.rule].append(t)
    out = []
    for rule, tickets in by_rule.items():
        tickets.sort(key=lambda t: (t.level.rank, t.detected_at))
        advice = next((k for t in tickets if (k := knowledge_of(t))), None)
        if advice is None:
            continue
        out.append(
            Recommendation(
                rule=rule,
                title=tickets[0].title,
                devices=sorted({t.device for t in tickets}),
                advice=advice,
            )
        )
    return sorted(out, key=lambda r: (min(t.level.rank for t in by_rule[r.rule]), r.rule))


def _contract_ref(c: Contract) -> ContractRef:
    return ContractRef(
        id=c.id,
        name=c.name,
        start=c.start,
        end=c.end,
        service_manager=c.service_manager.name,
        customer_contact=c.customer_contact.name if c.customer_contact else None,
    )


def _number(cust: Customer, contract: str | None, start: date, end: date) -> str:
    """``XJ-<code>-<YYYYMM>``: the same customer and month always get the same number."""
    span = f"{start:%Y%m}" if is_month(start, end) else f"{start:%Y%m%d}-{end:%Y%m%d}"
    number = f"XJ-{code_of(cust)}-{span}"
    return f"{number}-{contract}" if contract else number


def _label(start: date, end: date) -> str:
    if is_month(start, end):
        return f"{start:%Y-%m}"
    if is_quarter(start, end):
        return quarter_label(start)
    return f"{start.isoformat()}..{end.isoformat()}"
