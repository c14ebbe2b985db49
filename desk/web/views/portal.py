"""The customer portal: the customer's own tickets, never our internal ones.

Every read here is filtered by the customer twice over: the query asks for the
customer's tickets with ``internal`` false, and a single ticket is checked with
:meth:`WebUser.may_see` before anything of it is read, so another customer's ticket
answers exactly like a missing one. What a ticket page shows a customer is decided in
:func:`desk.web.views.timeline.customer_events` and :func:`desk.web.views.ticket.
build_ticket_page` (no escalations, referrals, RMA numbers, staff notes, raw output).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desk.storage import Store
from desk.web.views.common import Gettext
from desk.web.views.directory import Directory
from desk.web.views.inventory import ReportLink, report_links
from desk.web.views.queries import LineFilter
from desk.web.views.queue import QueueRow, ticket_rows

CLOSED_SHOWN = 30


@dataclass(frozen=True)
class PortalHome:
    customer: str
    active: list[QueueRow]
    closed: list[QueueRow]
    reports: list[ReportLink]


def portal_home(
    store: Store, directory: Directory, customer: str, now: datetime, language: str, _: Gettext
) -> PortalHome:
    def rows(active: bool, limit: int) -> list[QueueRow]:
        where = LineFilter(active=active, customer=customer, internal=False)
        return ticket_rows(store, directory, where, now, language, _, limit)

    active = sorted(rows(True, 500), key=lambda r: (r.next.due if r.next else now, r.number))
    return PortalHome(
        customer=customer,
        active=active,
        closed=rows(False, CLOSED_SHOWN),
        reports=report_links(customer, now.date(), _),
    )
