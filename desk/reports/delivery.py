"""Sending the scheduled reports by e-mail through the outbox.

The e-mail sender makes each report when it sends (:class:`desk.reports.maker.
ReportMaker`, as the API does for a download), so the outbox holds only the request.

:class:`ReportDelivery` is a housekeeping job. On ``reports.delivery`` times (cron, in
``reports.delivery.timezone``) it queues:

- the monthly inspection report of the month before, per contract active in it, to the
  contract's ``customer_contact`` and ``service_manager``;
- the quarterly statistics of the quarter before (the whole company) to the service
  managers of the contracts active in it.

Each delivery is claimed once per (kind, scope, period) by a unique row, in the same
transaction that writes its notice to the outbox: with several desk processes, or after
a restart, exactly one notice is queued. The notice holds the request and the
recipients, never the file: the e-mail sender renders it when it sends, so a retry
re-renders and the outbox stays small. A delivery time missed by more than
:data:`CATCH_UP` (the desk was stopped, or delivery was just switched on) is not sent
late; the report can still be fetched (``weibao report``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from desk.notify.message import Notice, Recipient, ReportRequest
from desk.reports.maker import PERIOD_KIND, download_path
from desk.reports.periods import previous_period
from desk.storage import Store
from desk.storage.tables import OutboxRow, ReportDeliveryRow
from weibao.clock import Clock
from weibao.errors import ConfigError, Problem
from weibao.inventory.model import Contract, Inventory, Person
from weibao.inventory.notify import NoticeKind
from weibao.logs import log_event

CATCH_UP = timedelta(days=7)
"""How late a missed delivery time is still honoured (a desk stopped over the 1st)."""
COMPANY = "company"
"""The scope of the company-wide quarterly statistics."""

_TITLES = {
    "inspection": ("巡检报告", "Inspection report"),
    "quarterly": ("季度服务统计", "Quarterly service statistics"),
}


@dataclass(frozen=True)
class Delivery:
    """One report to queue: what, for whom, and the claim's key."""

    scope: str
    request: ReportRequest
    recipients: tuple[Person, ...]

    @property
    def key(self) -> str:
        return f"{self.request.kind}:{self.scope}:{self.request.period}"


class ReportDelivery:
    """Queues the scheduled reports whose time has come (a housekeeping job)."""

    def __init__(
        self,
        store: Store,
        inventory: Inventory,
        clock: Clock,
        logger: logging.Logger | None = None,
    ) -> None:
        self._store = store
        self._inventory = inventory
        self._clock = clock
        self._settings = inventory.reports.delivery
        self._log = logger or logging.getLogger("weibao.desk.reports")
        self._zone = _check_settings(inventory)

    def run_once(self, now: datetime) -> list[str]:
        """Queue every delivery due at ``now`` not queued before; their keys."""
        if self._settings.channel is None:
            return []
        queued = []
        for delivery in self.due(now):
            if self._claim(delivery, now):
                queued.append(delivery.key)
                log_event(
                    self._log,
                    "report.queued",
                    kind=delivery.request.kind,
                    scope=delivery.scope,
                    period=delivery.request.period,
                    channel=self._settings.channel,
                )
        return queued

    def due(self, now: datetime) -> list[Delivery]:
        """The deliveries of the latest delivery time of each kind, if it is recent."""
        out: list[Delivery] = []
        for kind, cron in (
            ("inspection", self._settings.monthly_cron),
            ("quarterly", self._settings.quarterly_cron),
        ):
            fired = self._last_fire(cron, now)
            if now - fired > CATCH_UP:
                continue
            start, end, label = previous_period(PERIOD_KIND[kind], fired.date())
            active = [
                (customer.name, contract)
                for customer in self._inventory.customers
                for contract in customer.contracts
                if contract.start <= end and contract.end >= start
            ]
            if kind == "inspection":
                out.extend(self._inspection(customer, c, label) for customer, c in active)
            elif active:
                out.append(self._quarterly([c for _, c in active], label))
        return out

    def _last_fire(self, cron: str, now: datetime) -> datetime:
        """The latest cron time at or before ``now``, in the delivery time zone."""
        local = now.astimezone(self._zone).replace(second=0, microsecond=0)
        fired: datetime = croniter(cron, local + timedelta(minutes=1)).get_prev(datetime)
        return fired

    def _inspection(self, customer: str, contract: Contract, label: str) -> Delivery:
        people = [contract.customer_contact, contract.service_manager]
        request = ReportRequest(
            kind="inspection",
            period=label,
            customer=customer,
            contract=contract.id,
            format=self._settings.format,
            language=self._settings.language,
        )
        return Delivery(contract.id, request, _unique(people))

    def _quarterly(self, contracts: list[Contract], label: str) -> Delivery:
        request = ReportRequest(
            kind="quarterly",
            period=label,
            format=self._settings.format,
            language=self._settings.language,
        )
        return Delivery(COMPANY, request, _unique([c.service_manager for c in contracts]))

    def _claim(self, delivery: Delivery, now: datetime) -> bool:
        """Claim the delivery and queue its notice in one transaction; False when another
        process (or an earlier run) has it already."""
        channel = self._settings.channel
        assert channel is not None
        request = delivery.request
        values = {
            "kind": request.kind,
            "scope": delivery.scope,
            "period": request.period,
            "channel": channel,
            "queued_at": now,
        }
        with self._store.write_session() as session:
            claim_id = _insert_ignore(session, values)
            if claim_id is None:
                return False
            notice = report_notice(delivery, self._inventory.notifications.base_url)
            row = OutboxRow(
                channel=channel,
                kind=notice.kind.value,
                ticket=None,
                notice=notice.to_json(),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            session.add(row)
            session.flush()
            claimed = session.get(ReportDeliveryRow, claim_id)
            if claimed is not None:
                claimed.outbox_id = row.id
        return True


def report_notice(delivery: Delivery, base_url: str | None) -> Notice:
    """The e-mail's words: what is attached, and where to fetch it again."""
    request = delivery.request
    zh, en = _TITLES[request.kind]
    scope = [request.customer, request.contract] if request.customer else []
    title = " · ".join([f"{zh} {en} {request.period}", *[s for s in scope if s]])
    path = download_path(request)
    if request.kind == "inspection":
        body = (
            f"附件为 {request.customer} {request.period} 的巡检报告（合同 {request.contract}）。\n"
            f"Attached: the inspection report of {request.customer} for {request.period} "
            f"(contract {request.contract})."
        )
    else:
        body = (
            f"附件为 {request.period} 季度服务统计（全部客户与合同）。\n"
            f"Attached: the service statistics of {request.period}, all customers and contracts."
        )
    facts = {"period": request.period, "format": request.format}
    if request.customer:
        facts["customer"] = request.customer
    if request.contract:
        facts["contract"] = request.contract
    facts["download"] = path
    kind = (
        NoticeKind.report_inspection
        if request.kind == "inspection"
        else NoticeKind.report_quarterly
    )
    return Notice(
        kind=kind,
        title=title,
        body=body,
        recipients=tuple(Recipient.of(p) for p in delivery.recipients),
        customer=request.customer,
        url=f"{base_url}{path}" if base_url else None,
        facts=facts,
        report=request,
    )


def _unique(people: list[Person | None]) -> tuple[Person, ...]:
    seen: dict[str, Person] = {}
    for person in people:
        if person is not None:
            seen.setdefault(person.name, person)
    return tuple(seen.values())


def _insert_ignore(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING on the claim key; the new row's id, or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(ReportDeliveryRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "scope", "period"])
        .returning(ReportDeliveryRow.id)
    )
    row = session.execute(stmt).first()
    return None if row is None else int(row[0])


def _check_settings(inventory: Inventory) -> ZoneInfo:
    """The delivery's time zone; ConfigError when the settings cannot work, so the desk
    refuses to start instead of never sending a report."""
    settings = inventory.reports.delivery
    problems = []
    where = "reports.delivery"
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
        problems.append(
            Problem(
                "inventory",
                None,
                f"{where}.timezone",
                f"unknown time zone {settings.timezone!r}",
                "write an IANA name such as Asia/Shanghai",
            )
        )
    for key in ("monthly_cron", "quarterly_cron"):
        cron = getattr(settings, key)
        if not croniter.is_valid(cron):
            problems.append(
                Problem(
                    "inventory",
                    None,
                    f"{where}.{key}",
                    f"{cron!r} is not a cron expression",
                    "write five fields: minute hour day month weekday, e.g. '0 8 1 * *'",
                )
            )
    name = settings.channel
    if name is not None:
        channel = inventory.notifications.channel(name)
        emails = [c.name for c in inventory.notifications.channels if c.type == "email"]
        hint = (
            f"name an email channel of notifications.channels ({', '.join(emails)})"
            if emails
            else "add a channel with type: email under notifications.channels, and smtp:"
        )
        if channel is None:
            problems.append(
                Problem("inventory", None, f"{where}.channel", f"no channel named {name!r}", hint)
            )
        elif channel.type != "email":
            problems.append(
                Problem(
                    "inventory",
                    None,
                    f"{where}.channel",
                    f"channel {name!r} is a {channel.type} channel; reports are sent as "
                    "e-mail attachments",
                    hint,
                )
            )
    if problems:
        raise ConfigError(problems)
    return zone
