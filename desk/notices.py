"""Who is told what about a ticket, queued in the ticket's own transaction.

A notice is written to the outbox together with the change it reports, so a change is
never announced that rolled back, and a desk that stops right after a commit still
sends it (the dispatcher, :mod:`desk.notify`, delivers later, with retries). Ingest
never waits for a webhook or a mail server.

Recipients follow the contract: the ticket's assigned engineer for the work itself
(定人服务; all the site's engineers when nobody is assigned), the contract's service
manager for escalations, follow-up calls and serious level raises.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

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
}


class TicketNotifier:
    """Builds notices for ticket events and queues one per matching channel."""

    def __init__(self, inventory: Inventory) -> None:
        self._settings = inventory.notifications
        self._contexts = inventory.device_index()

    def queue(
        self, tx: StoreTx, kind: str, ticket: TicketRecord, now: datetime, **facts: str
    ) -> None:
        notice_kind = NoticeKind(kind)
        channels = self._settings.channels_for(notice_kind.value, ticket.level)
        if not channels:
            return
        notice = self.build(notice_kind, ticket, facts)
        payload = notice.to_json()
        for channel in channels:
            tx.enqueue(channel.name, notice_kind.value, ticket.number, payload, now)

    def build(self, kind: NoticeKind, ticket: TicketRecord, facts: dict[str, str]) -> Notice:
        zone = ZoneInfo(ticket.timezone)
        ctx = self._contexts.get(ticket.device)

        def local(t: datetime) -> str:
            return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")

        shown = {
            "customer": ticket.customer,
            "site": ticket.site,
            "device": ticket.device,
            "level": f"{ticket.level.value} {ticket.level.label_zh}",
            "detected": local(ticket.detected_at),
            "respond by": local(ticket.due.response),
            "on site / plan by": local(ticket.due.onsite),
            "resolve by": local(ticket.due.resolve),
        }
        if ticket.assignee:
            shown["engineer"] = ticket.assignee
        shown.update(facts)
        headline = _HEADLINES.get(kind, kind.value)
        body = [headline, ticket.title]
        if ticket.description:
            body.append(ticket.description)
        body.extend(f"{k}: {v}" for k, v in facts.items())
        base = self._settings.base_url
        return Notice(
            kind=kind,
            title=f"[{ticket.level.value}] {ticket.number} {ticket.device}: {ticket.title}",
            body="\n".join(body),
            recipients=tuple(Recipient.of(p) for p in self.recipients(kind, ticket, ctx)),
            ticket=ticket.number,
            level=ticket.level,
            customer=ticket.customer,
            url=f"{base}/tickets/{ticket.number}" if base else None,
            facts=shown,
        )

    @staticmethod
    def recipients(
        kind: NoticeKind, ticket: TicketRecord, ctx: DeviceContext | None
    ) -> list[Person]:
        if ctx is None:
            return []
        people: list[Person] = []
        if kind in _ENGINEER_KINDS:
            engineers = ctx.site.engineers
            assigned = [p for p in engineers if p.name == ticket.assignee]
            people.extend(assigned or engineers)
        serious = kind is NoticeKind.ticket_level_raised and ticket.level in (Level.I, Level.II)
        if kind in _MANAGER_KINDS or serious:
            people.append(ctx.contract.service_manager)
        unique: dict[str, Person] = {}
        for person in people:
            unique.setdefault(person.name, person)
        return list(unique.values())
