"""The engineer's queue: open tickets, the one whose next clock falls due first on top.

"Mine" is what a field engineer means by it: tickets assigned to them, and tickets not
yet assigned at the sites they serve (定人服务: nobody else will pick those up). It is
the default for an engineer account that carries an engineer name; managers, and
engineers without a name on any site, start with every open ticket.

Every matching ticket is ordered and counted from its stored clock columns
(:func:`desk.web.views.queries.standings`: exactly what a replay gives, replaying only
tickets ever paused, reopened or given an agreed due time); only the first ``limit`` rows
are read in full, replayed from their events, worded and rendered: a phone shows a
hundred cards at most, and the counts above them still cover every ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from desk.clocks import ClockViews
from desk.storage import Store
from desk.web.context import WebUser
from desk.web.views.common import (
    ClockCell,
    Gettext,
    clock_cells,
    level_text,
    next_cell,
    status_label,
    worst_risk,
)
from desk.web.views.directory import Directory
from desk.web.views.queries import (
    LineFilter,
    Standing,
    TicketLine,
    clock_events,
    replay_all,
    standings,
    ticket_lines,
)
from weibao.inventory.model import Inventory
from weibao.levels import Level

PAGE = 100
MAX_LIMIT = 5000
FAR = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class QueueFilters:
    """What the engineer chose; ``scope`` is ``mine`` or ``all``."""

    scope: str = "all"
    customer: str | None = None
    site: str | None = None
    level: Level | None = None
    assignee: str | None = None
    limit: int = PAGE

    @classmethod
    def parse(
        cls,
        user: WebUser,
        scope: str | None,
        customer: str | None,
        site: str | None,
        level: str | None,
        assignee: str | None,
        limit: int | None,
    ) -> QueueFilters:
        """From the query string; bad values fall back to the defaults, never an error
        page (a bookmarked filter must not lock an engineer out of the queue)."""
        default = "mine" if user.engineer else "all"
        parsed_level: Level | None
        try:
            parsed_level = Level.parse(level) if level else None
        except ValueError:
            parsed_level = None
        return cls(
            scope=scope if scope in ("mine", "all") and user.engineer else default,
            customer=customer or None,
            site=site or None,
            level=parsed_level,
            assignee=assignee or None,
            limit=max(1, min(limit or PAGE, MAX_LIMIT)),
        )

    def query(self, **change: str | int | None) -> str:
        """The query string of these filters, with ``change`` applied (for links)."""
        values: dict[str, str | int | None] = {
            "scope": self.scope,
            "customer": self.customer,
            "site": self.site,
            "level": self.level.value if self.level else None,
            "assignee": self.assignee,
            "limit": self.limit if self.limit != PAGE else None,
        }
        values.update(change)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass(frozen=True)
class QueueRow:
    number: str
    title: str
    customer: str
    site: str
    device: str
    level: str
    level_label: str
    status: str
    status_label: str
    assignee: str | None
    internal: bool
    next: ClockCell | None
    risk: str
    clocks: list[ClockCell]


@dataclass(frozen=True)
class QueueView:
    rows: list[QueueRow]
    total: int
    breached: int
    at_risk: int
    filters: QueueFilters
    customers: list[str]
    sites: list[str]
    assignees: list[str]
    levels: list[tuple[str, str]]
    now: datetime
    mine_sites: list[str] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def engineer_sites(inventory: Inventory, engineer: str) -> tuple[tuple[str, str], ...]:
    """The (contract, site) pairs on which ``engineer`` is one of the site's engineers."""
    return tuple(
        (contract.id, site.name)
        for customer in inventory.customers
        for contract in customer.contracts
        for site in contract.sites
        if any(p.name == engineer for p in site.engineers)
    )


def queue_order(standing: Standing) -> tuple[datetime, int, str]:
    """The next clock's due time first; then the graver level, then the older number."""
    nearest = standing.next_due
    return (FAR if nearest is None else nearest, standing.level.rank, standing.number)


def shown_lines(store: Store, ids: list[int]) -> list[TicketLine]:
    """Full list rows of ``ids``, in that order."""
    found = {line.id: line for line in ticket_lines(store, LineFilter(ids=tuple(ids)))}
    return [found[i] for i in ids if i in found]


def build_queue(
    store: Store,
    directory: Directory,
    user: WebUser,
    filters: QueueFilters,
    now: datetime,
    language: str,
    _: Gettext,
) -> QueueView:
    inventory, policies = directory.inventory, directory.policies
    mine = None
    sites: tuple[tuple[str, str], ...] = ()
    if filters.scope == "mine" and user.engineer:
        sites = engineer_sites(inventory, user.engineer)
        # Steps record the display name, and an ack assigns an unassigned ticket to
        # whoever took it: both names are "me".
        mine = (tuple({user.engineer, user.display_name}), sites)
    where = LineFilter(
        active=True,
        customer=filters.customer,
        site=filters.site,
        level=filters.level,
        assignee=filters.assignee,
        mine=mine,
    )
    keyed = sorted(standings(store, where, policies, now), key=queue_order)
    ids = [s.id for s in keyed[: filters.limit]]
    lines = shown_lines(store, ids) if ids else []
    views = replay_all(lines, clock_events(store, ids=ids), policies, now)
    rows = queue_rows(lines, views, directory, now, language, _)
    return QueueView(
        rows=rows,
        total=len(keyed),
        breached=sum(s.breached for s in keyed),
        at_risk=sum(s.at_risk for s in keyed),
        filters=filters,
        customers=sorted(c.name for c in inventory.customers),
        sites=_site_names(inventory, filters.customer),
        assignees=_engineers(inventory),
        levels=[(lv.value, level_text(lv, language)) for lv in Level],
        now=now,
        mine_sites=[s for _c, s in sites],
    )


def queue_rows(
    lines: Iterable[TicketLine],
    views: dict[int, ClockViews],
    directory: Directory,
    now: datetime,
    language: str,
    _: Gettext,
) -> list[QueueRow]:
    """Rows worded for the page: the next clock, the worst risk, all three clocks."""
    rows = []
    for line in lines:
        view = views[line.id]
        cells = clock_cells(view, line.timezone, now, directory.policies.of(line).escalate_at, _)
        rows.append(
            QueueRow(
                number=line.number,
                title=line.title,
                customer=line.customer,
                site=line.site,
                device=line.device,
                level=view.level.value,
                level_label=level_text(view.level, language),
                status=line.status.value,
                status_label=status_label(line.status, _),
                assignee=line.assignee,
                internal=line.internal,
                next=next_cell(cells) if line.status.active else None,
                risk=worst_risk(cells) if line.status.active else "",
                clocks=cells,
            )
        )
    return rows


def ticket_rows(
    store: Store,
    directory: Directory,
    where: LineFilter,
    now: datetime,
    language: str,
    _: Gettext,
    limit: int = 50,
) -> list[QueueRow]:
    """The latest ``limit`` tickets matching ``where``, with their clocks (inventory pages)."""
    lines = ticket_lines(store, where, limit)
    events = clock_events(store, ids=[line.id for line in lines])
    views = replay_all(lines, events, directory.policies, now)
    return queue_rows(lines, views, directory, now, language, _)


def _site_names(inventory: Inventory, customer: str | None) -> list[str]:
    return sorted(
        {
            site.name
            for c in inventory.customers
            if customer is None or c.name == customer
            for contract in c.contracts
            for site in contract.sites
        }
    )


def _engineers(inventory: Inventory) -> list[str]:
    return sorted(
        {
            p.name
            for c in inventory.customers
            for contract in c.contracts
            for site in contract.sites
            for p in site.engineers
        }
    )
