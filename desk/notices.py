"""Who is told what about a ticket, queued in the ticket's own transaction.

A notice is written to the outbox together with the change it reports, so a change is
never announced that rolled back, and a desk that stops right after a commit still
sends it (the dispatcher, :mod:`desk.notify`, delivers later, with retries). Ingest
never waits for a webhook or a mail server.

Recipients follow the contract: advisories (a warranty or contract ending) go to the
service manager alone; otherwise the ticket's assigned engineer for the work itself
(定人服务; all the site's engineers when nobody is assigned), the contract's service
manager for escalations, follow-up calls and serious level raises. A call for a second
engineer goes to the engineer named (else the site's other engineers) and to the service
manager, who dispatches people; a referral to a senior engineer goes to that senior (else
the contract's seniors), one to a vendor to the service manager, who owns vendor cases.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from desk.clocks import is_advisory
from desk.notify.message import Notice, Recipient
from desk.storage import StoreTx, TicketRecord
from weibao.inventory.model import DeviceContext, Inventory, Person
from weibao.inventory.notify import NoticeKind
from weibao.levels import Level

_MANAGER_KINDS = {NoticeKind.ticket_escalated, NoticeKind.followup_due}
_ENGINEER_KINDS = {
    NoticeKind.ticket_opened,
    NoticeKind.ticket_level_raised,
    NoticeKind.ticket_recovered,
    NoticeKind.ticket_reopened,
    NoticeKind.ticket_escalated,
    NoticeKind.ticket_assigned,
}

_HEADLINES = {
    NoticeKind.ticket_opened: "新工单 new ticket",
    NoticeKind.ticket_level_raised: "故障升级 level raised",
    NoticeKind.ticket_assigned: "工单指派 assigned to you",
    NoticeKind.ticket_escalated: "SLA 升级 escalation",
    NoticeKind.ticket_recovered: "故障已恢复 fault cleared (ticket still open)",
    NoticeKind.ticket_reopened: "工单重开 ticket reopened",
    NoticeKind.followup_due: "回访到期 follow-up call due",
    NoticeKind.ticket_assist_requested: "请求协助 second engineer asked for",
    NoticeKind.ticket_referred: "转二线 referred to a senior or vendor engineer",
}
_HELP_KINDS = {NoticeKind.ticket_assist_requested, NoticeKind.ticket_referred}


class TicketNotifier:
    """Builds notices for ticket events and queues one per matching channel."""

    def __init__(self, inventory: Inventory) -> None:
        self._settings = inventory.notifications
        self._contexts = inventory.device_index()

    def queue(
        self,
        tx: StoreTx,
        kind: str,
        ticket: TicketRecord,
        now: datetime,
        named: str | None = None,
        **facts: str,
    ) -> None:
        """Queue a notice; ``named`` is the person a call for help names, if any."""
        notice_kind = NoticeKind(kind)
        channels = self._settings.channels_for(notice_kind.value, ticket.level)
        if not channels:
            return
        notice = self.build(notice_kind, ticket, facts, named)
        payload = notice.to_json()
        for channel in channels:
            tx.enqueue(channel.name, notice_kind.value, ticket.number, payload, now)

    def build(
        self,
        kind: NoticeKind,
        ticket: TicketRecord,
        facts: dict[str, str],
        named: str | None = None,
    ) -> Notice:
        zone = ZoneInfo(ticket.timezone)
        ctx = self._contexts.get(ticket.device)

        def local(t: datetime) -> str:
            return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")

        advisory = is_advisory(ticket.labels)
        shown = {
            "customer": ticket.customer,
            "site": ticket.site,
            "device": ticket.device,
            "level": f"{ticket.level.value} {ticket.level.label_zh}",
            "detected": local(ticket.detected_at),
        }
        if not advisory:  # an advisory runs no SLA clock
            shown["respond by"] = local(ticket.due.response)
            second = "plan by" if ticket.level is Level.IV else "on site / plan by"
            shown[second] = local(ticket.due.onsite)
            shown["resolve by"] = local(ticket.due.resolve)
        if ticket.assignee:
            shown["service manager" if advisory else "engineer"] = ticket.assignee
        shown.update(facts)
        headline = _HEADLINES.get(kind, kind.value)
        if advisory and kind is NoticeKind.ticket_opened:
            headline = "服务提醒 advisory for the service manager"
        body = [headline, ticket.title]
        if ticket.description:
            body.append(ticket.description)
        body.extend(f"{k}: {v}" for k, v in facts.items())
        base = self._settings.base_url
        return Notice(
            kind=kind,
            title=f"[{ticket.level.value}] {ticket.number} {ticket.device}: {ticket.title}",
            body="\n".join(body),
            recipients=tuple(Recipient.of(p) for p in self.recipients(kind, ticket, ctx, named)),
            ticket=ticket.number,
            level=ticket.level,
            customer=ticket.customer,
            url=f"{base}/tickets/{ticket.number}" if base else None,
            facts=shown,
        )

    @staticmethod
    def recipients(
        kind: NoticeKind, ticket: TicketRecord, ctx: DeviceContext | None, named: str | None = None
    ) -> list[Person]:
        if ctx is None:
            return []
        if is_advisory(ticket.labels):
            # Warranty or contract ending: the service manager takes it up with the
            # customer; the site's engineers have nothing to do yet.
            return [ctx.contract.service_manager]
        people: list[Person] = []
        if kind in _HELP_KINDS:
            people.extend(_helpers(kind, ticket, ctx, named))
        if kind in _ENGINEER_KINDS:
            engineers = ctx.site.engineers
            assigned = [p for p in engineers if p.name == ticket.assignee]
            people.extend(assigned or engineers)
        serious = kind is NoticeKind.ticket_level_raised and ticket.level in (Level.I, Level.II)
        vendor = kind is NoticeKind.ticket_referred and not people
        if (
            kind in _MANAGER_KINDS
            or kind is NoticeKind.ticket_assist_requested
            or serious
            or vendor
        ):
            people.append(ctx.contract.service_manager)
        unique: dict[str, Person] = {}
        for person in people:
            unique.setdefault(person.name, person)
        return list(unique.values())


def _helpers(
    kind: NoticeKind, ticket: TicketRecord, ctx: DeviceContext, named: str | None
) -> list[Person]:
    """Who a call for help reaches: the person named when the inventory knows them, else
    the pool it draws from (the site's other engineers, or the contract's seniors). A
    referral names nobody only when it goes to a vendor: the service manager's case."""
    if kind is NoticeKind.ticket_referred and named is None:
        return []
    if kind is NoticeKind.ticket_assist_requested:
        pool = [p for p in ctx.site.engineers if p.name != ticket.assignee]
        known = [*ctx.site.engineers, *ctx.contract.senior_engineers]
    else:
        pool = list(ctx.contract.senior_engineers)
        known = pool
    if named:
        found = [p for p in known if p.name == named]
        if found:
            return found[:1]
    return pool
