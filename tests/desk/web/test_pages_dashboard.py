"""The manager's dashboard and the customer, contract, site and device pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from desk.clocks import ClockName
from desk.storage import Store
from desk.storage.tables import ObservationRow
from desk.web.views.common import clock_cells, clock_label, gettext_for
from desk.web.views.dashboard import LISTED, build_dashboard
from desk.web.views.directory import Directory
from desk.web.views.queries import LineFilter, clock_events, replay_all, ticket_lines
from weibao.clock import FrozenClock
from weibao.levels import Level

from ..asgi import AsgiClient
from .conftest import Users, login
from .page_fixtures import Desk, desk_fixture, inventory_fixture  # noqa: F401
from .test_pages_queue import mixed_queue


def section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return html[start : html.index("</section>", start)]


def observe(
    store: Store,
    device: str,
    at: object,
    ok: bool = True,
    error: str | None = None,
    known: bool = True,
    obs_id: str | None = None,
) -> None:
    with store.write_session() as session:
        session.add(
            ObservationRow(
                id=obs_id or f"{device}-{at}",
                device=device,
                source="agent",
                time=at,
                received_at=at,
                ok=ok,
                error=error,
                samples=[{"name": "up", "labels": {}, "value": 1.0 if ok else 0.0}],
                meta={"hostname": device} if not known else {},
                known_device=known,
            )
        )


def test_open_tickets_by_customer_and_level(client: AsgiClient, users: Users, desk: Desk) -> None:
    desk.open("acme-db", Level.I)
    desk.open("acme-core", Level.I, rule="psu_failed")
    desk.open("beta-his", Level.III)
    desk.open("acme-branch-fw", rule="agent_silent", internal=True)
    login(client, users.manager)
    load = section(client.get("/dashboard").text, "load")
    acme = load[load.index("Acme Bank") :]
    acme = acme[: acme.index("</tr>")]
    assert re.findall(r">(\d+)<", acme)[:5] == ["2", "0", "0", "0", "2"]
    assert "internal" in load or "内部" in load


def test_clocks_at_risk_and_breached(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock
) -> None:
    late = desk.open("acme-db", Level.II)
    clock.advance(timedelta(minutes=21))  # acme-db's response (20 m) is now breached
    near = desk.open("beta-his", Level.I)  # Beta: 1 h response
    clock.advance(timedelta(minutes=50))  # 83 % of beta-his's hour
    login(client, users.manager)
    risk = section(client.get("/dashboard").text, "risk")
    assert late.number in risk and near.number in risk
    assert risk.index(late.number) < risk.index(near.number)  # breached first
    late_card = risk[risk.index(late.number) - 300 : risk.index(late.number)]
    assert "card-risk-breach" in late_card


def test_escalations_are_listed(client: AsgiClient, users: Users, desk: Desk) -> None:
    ticket = desk.open("acme-db")
    desk.escalate(ticket, "response", "warning")
    login(client, users.manager)
    escalations = section(client.get("/dashboard").text, "escalations")
    assert ticket.number in escalations


def test_coverage_names_devices_without_a_good_inspection_and_why(
    client: AsgiClient, users: Users, store: Store, clock: FrozenClock
) -> None:
    now = clock.now()
    observe(store, "acme-db", now - timedelta(hours=1))
    observe(store, "acme-core", now - timedelta(hours=2), ok=False, error="timeout after 2 s")
    observe(store, "beta-his", now - timedelta(days=2))
    login(client, users.manager)
    coverage = section(client.get("/dashboard", headers={"Accept-Language": "en"}).text, "coverage")
    assert "3 of 4" in coverage
    assert "acme-db" not in coverage
    assert "timeout after 2 s" in coverage
    assert "acme-branch-fw" in coverage and "never reported" in coverage
    assert "beta-his" in coverage and "silent since" in coverage


def test_unknown_devices_and_failed_notifications(
    client: AsgiClient, users: Users, store: Store, clock: FrozenClock
) -> None:
    observe(store, "stray-server", clock.now(), known=False)
    with store.transaction() as tx:
        tx.enqueue("ops", "ticket.opened", "WB-2026-000001", {}, clock.now())
    item = store.outbox_claim(clock.now(), 1, timedelta(minutes=1))[0]
    store.outbox_failed(item.id, "connection refused", None, clock.now())
    login(client, users.manager)
    html = client.get("/dashboard").text
    assert "stray-server" in section(html, "unknown")
    outbox = section(html, "outbox")
    assert "connection refused" in outbox and "risk-breach" in outbox


def test_engineers_may_not_open_the_dashboard(client: AsgiClient, users: Users) -> None:
    login(client, users.engineer)
    assert client.get("/dashboard").status_code == 403


def test_customer_contract_site_and_device_pages(
    client: AsgiClient, users: Users, desk: Desk, store: Store, clock: FrozenClock
) -> None:
    ticket = desk.open("acme-db")
    observe(store, "acme-db", clock.now())
    login(client, users.engineer)
    customer = client.get("/customers/Acme Bank")
    assert customer.status_code == 200
    assert ticket.number in customer.text and "ACME-2026" in customer.text
    assert "/api/v1/reports/inspection?customer=Acme+Bank" in customer.text
    contract = client.get("/contracts/ACME-2026", headers={"Accept-Language": "en"})
    assert "Acme Branch" in contract.text and "20m" in contract.text
    site = client.get("/contracts/ACME-2026/sites/Acme HQ")
    assert site.status_code == 200 and "1 Bank Road, Shanghai" in site.text
    assert "acme-core" in site.text and ticket.number in site.text
    device = client.get("/devices/acme-db")
    assert device.status_code == 200
    assert "SN-ACME-DB-1" in device.text and ticket.number in device.text
    assert "up = 1" in device.text and "up = 1.0" not in device.text  # latest samples, rounded
    for missing in (
        "/customers/Nobody",
        "/contracts/NONE",
        "/devices/nothing",
        "/contracts/ACME-2026/sites/Nowhere",
    ):
        assert client.get(missing).status_code == 404, missing


def replayed_risks(
    store: Store, directory: Directory, now: datetime
) -> tuple[list[tuple[str, str, str, str]], dict[str, tuple[int, int]]]:
    """Clocks at risk as a replay of every open ticket's events gives them: each risky
    ticket's gravest clock (number, clock, state, risk), breached first, and the tallies."""
    where = LineFilter(active=True)
    lines = ticket_lines(store, where)
    views = replay_all(lines, clock_events(store, where), directory.policies, now)
    tallies = {c.value: [0, 0] for c in ClockName}
    risky = []
    for line in lines:
        escalate_at = directory.policies.of(line).escalate_at
        cells = clock_cells(views[line.id], line.timezone, now, escalate_at, gettext_for("en"))
        flagged = [c for c in cells if c.met_local is None and c.risk]
        for c in flagged:
            tallies[ClockName(c.name).value][c.risk == "risk-breach"] += 1  # plan: onsite
        if flagged:
            worst = min(flagged, key=lambda c: c.due)
            risky.append(
                (
                    (not worst.breached, worst.due),
                    (line.number, worst.name, worst.state, worst.risk),
                )
            )
    risky.sort(key=lambda r: r[0])
    return [r for _k, r in risky], {k: (w, b) for k, (w, b) in tallies.items()}


def test_clocks_at_risk_from_stored_clocks_are_what_a_full_replay_gives(
    store: Store, clock: FrozenClock
) -> None:
    directory = Directory(mixed_queue(store, clock))
    start = clock.now()
    for offset in (0, 25, 95, 400, 1500, 4400):
        now = start + timedelta(minutes=offset)
        risks, tallies = replayed_risks(store, directory, now)
        board = build_dashboard(store, directory, now, "en", gettext_for("en"))
        shown = [(r.number, r.clock.name, r.clock.state, r.clock.risk) for r in board.risks]
        assert shown == risks[:LISTED]
        assert board.risk_total == len(risks)
        labels = [clock_label(c, gettext_for("en")) for c in ClockName]
        assert [(t.label, t.at_risk, t.breached) for t in board.tallies] == [
            (label, *tallies[c.value]) for label, c in zip(labels, ClockName, strict=True)
        ]


def test_the_level_columns_fit_a_phone_in_both_languages(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    """ "Level I" ... "Level IV" and a total do not fit 390 px: the columns of the per-level
    table say I to IV in English (the card's title says "by level"), I级 to IV级 in Chinese."""
    desk.open("acme-db", Level.I)
    login(client, users.manager)
    heads = re.findall(r'<th class="num">([^<]+)</th>', section(client.get(
        "/dashboard", headers={"Accept-Language": "en"}).text, "load"))  # fmt: skip
    assert heads == ["I", "II", "III", "IV", "Total"]
    heads = re.findall(r'<th class="num">([^<]+)</th>', section(client.get(
        "/dashboard", headers={"Accept-Language": "zh-CN"}).text, "load"))  # fmt: skip
    assert heads == ["I级", "II级", "III级", "IV级", "合计"]
