"""The customer, contract, site and device pages: what the inventory says, with the
tickets and the inspections that belong to it.

URLs: ``/customers/{name}``, ``/contracts/{id}``, ``/contracts/{id}/sites/{name}``
(a site's name is only unique within its contract) and ``/devices/{name}`` (device
names are unique in the whole inventory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode

from desk.storage import Store
from desk.storage.records import ComponentRecord
from desk.web.views.common import LONG, Gettext, level_text, local, span
from desk.web.views.directory import Directory
from desk.web.views.queries import LineFilter, last_ok_since
from desk.web.views.queue import QueueRow, ticket_rows
from desk.web.views.ticket import DeviceFacts, Observed, device_facts, observed
from desk.web.views.trends import Trend, trends
from weibao.inventory.model import Contract, Customer, Site
from weibao.levels import Level

REPORT_MONTHS = 6
REPORT_QUARTERS = 4


@dataclass(frozen=True)
class ReportLink:
    label: str
    href: str
    kind: str
    """``inspection`` or ``quarterly``."""


def report_links(customer: str, today: date, _: Gettext) -> list[ReportLink]:
    """The last months' inspection reports and the last quarters' statistics, as PDF
    links to the report API (``/api/v1/reports/...``)."""
    links = []
    year, month = today.year, today.month
    for _i in range(REPORT_MONTHS):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        period = f"{year:04d}-{month:02d}"
        query = urlencode({"customer": customer, "period": period, "format": "pdf"})
        links.append(
            ReportLink(
                _("Inspection report %(period)s") % {"period": period},
                f"/api/v1/reports/inspection?{query}",
                "inspection",
            )
        )
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _i in range(REPORT_QUARTERS):
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
        period = f"{year:04d}-Q{quarter}"
        query = urlencode({"customer": customer, "period": period, "format": "pdf"})
        links.append(
            ReportLink(
                _("Quarterly statistics %(period)s") % {"period": period},
                f"/api/v1/reports/quarterly?{query}",
                "quarterly",
            )
        )
    return links


def site_href(contract: str, site: str) -> str:
    return f"/contracts/{quote(contract, safe='')}/sites/{quote(site, safe='')}"


@dataclass(frozen=True)
class CustomerPage:
    customer: Customer
    contracts: list[Contract]
    devices: int
    tickets: list[QueueRow]
    reports: list[ReportLink]


@dataclass(frozen=True)
class SlaLine:
    level: str
    level_label: str
    response: str
    onsite_hq: str
    onsite_remote: str
    resolve: str


@dataclass(frozen=True)
class ContractPage:
    customer: Customer
    contract: Contract
    sla: list[SlaLine]
    sites: list[tuple[Site, str]]
    """Each site with its page's URL."""
    tickets: list[QueueRow]


@dataclass(frozen=True)
class DeviceLine:
    name: str
    kind: str
    address: str | None
    last_ok: str | None


@dataclass(frozen=True)
class SitePage:
    customer: Customer
    contract: Contract
    site: Site
    devices: list[DeviceLine]
    tickets: list[QueueRow]


@dataclass(frozen=True)
class DevicePage:
    facts: DeviceFacts
    site_href: str
    observed: list[Observed]
    trends: list[Trend]
    tickets: list[QueueRow]
    components: list[ComponentRecord]


def customer_page(
    store: Store, directory: Directory, name: str, now: datetime, language: str, _: Gettext
) -> CustomerPage | None:
    customer = directory.customers.get(name)
    if customer is None:
        return None
    where = LineFilter(active=True, customer=name)
    return CustomerPage(
        customer=customer,
        contracts=list(customer.contracts),
        devices=sum(len(si.devices) for co in customer.contracts for si in co.sites),
        tickets=ticket_rows(store, directory, where, now, language, _),
        reports=report_links(name, now.date(), _),
    )


def contract_page(
    store: Store, directory: Directory, cid: str, now: datetime, language: str, _: Gettext
) -> ContractPage | None:
    found = directory.contracts.get(cid)
    if found is None:
        return None
    customer, contract = found
    sla = []
    for lv in Level:
        t = contract.sla.terms(lv)
        sla.append(
            SlaLine(
                lv.value,
                level_text(lv, language),
                span(t.response.total_seconds(), _),
                span(t.onsite_hq.total_seconds(), _),
                span(t.onsite_remote.total_seconds(), _),
                span(t.resolve.total_seconds(), _),
            )
        )
    return ContractPage(
        customer=customer,
        contract=contract,
        sla=sla,
        sites=[(si, site_href(cid, si.name)) for si in contract.sites],
        tickets=ticket_rows(
            store, directory, LineFilter(active=True, contract=cid), now, language, _
        ),
    )


def site_page(
    store: Store,
    directory: Directory,
    cid: str,
    name: str,
    now: datetime,
    language: str,
    _: Gettext,
) -> SitePage | None:
    site = directory.sites.get((cid, name))
    if site is None:
        return None
    customer, contract = directory.contracts[cid]
    seen = last_ok_since(store, now - timedelta(days=7))
    devices = [
        DeviceLine(
            d.name,
            d.kind.value,
            d.address,
            local(seen[d.name], site.timezone, LONG) if d.name in seen else None,
        )
        for d in site.devices
    ]
    where = LineFilter(contract=cid, site=name)
    return SitePage(
        customer=customer,
        contract=contract,
        site=site,
        devices=devices,
        tickets=ticket_rows(store, directory, where, now, language, _),
    )


def device_page(
    store: Store, directory: Directory, name: str, now: datetime, language: str, _: Gettext
) -> DevicePage | None:
    ctx = directory.find(name)
    facts = device_facts(ctx, now.date())
    if ctx is None or facts is None:
        return None
    recent = store.recent_observations(name, 30)
    tz = ctx.site.timezone
    return DevicePage(
        facts=facts,
        site_href=site_href(ctx.contract.id, ctx.site.name),
        observed=[observed(o, tz, limit=40) for o in recent[:5]],
        trends=trends(recent, (), limit=12),
        tickets=ticket_rows(store, directory, LineFilter(device=name), now, language, _),
        components=store.components(name),
    )
