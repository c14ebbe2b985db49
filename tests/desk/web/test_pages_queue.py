"""The engineer's queue: ordering by the nearest due clock, risk colours from the
frozen clock, filters, "mine", the htmx fragment, and who may open it."""

from __future__ import annotations

import re
from datetime import timedelta

from desk.model import EventKind
from desk.storage import Store
from weibao.clock import FrozenClock
from weibao.levels import Level

from ..asgi import AsgiClient
from .conftest import Users, login
from .page_fixtures import Desk, desk_fixture, inventory_fixture  # noqa: F401

_NUMBERS = re.compile(r'data-number="(WB-\d{4}-\d{6})"')


def numbers(html: str) -> list[str]:
    return _NUMBERS.findall(html)


def card(html: str, number: str) -> str:
    """The HTML of one ticket's card in a list."""
    start = html.index(f'data-number="{number}"')
    return html[html.rindex("<li", 0, start) : html.index("</li>", start)]


def test_tickets_are_ordered_by_the_nearest_due_clock(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock
) -> None:
    # Level IV opened first and acknowledged at once: its next clock is the plan (4 h).
    iv = desk.open("acme-db", Level.IV, rule="advisory")
    desk.event(iv, EventKind.acknowledged, "Zhang Wei")
    clock.advance(timedelta(hours=1))
    one = desk.open("beta-his", Level.I)
    clock.advance(timedelta(minutes=5))
    two = desk.open("acme-core", Level.II)
    login(client, users.manager)
    page = client.get("/queue")
    assert page.status_code == 200
    # II: response due at 1h05 + 20m = 1h25; I: Beta's contract answers in 1 h, so
    # 2h00; IV: the plan at 4h00. The level alone does not decide: the due time does.
    assert numbers(page.text) == [two.number, one.number, iv.number]


def test_a_met_clock_no_longer_counts_for_the_order(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock, store: Store
) -> None:
    first = desk.open("acme-db", Level.II)
    clock.advance(timedelta(minutes=1))
    second = desk.open("acme-core", Level.II)
    # Acknowledging the first stops its response clock: its next is on site (+30 m HQ).
    desk.event(first, EventKind.acknowledged, "Zhang Wei")
    login(client, users.manager)
    assert numbers(client.get("/queue").text) == [second.number, first.number]


def test_risk_classes_follow_the_share_of_the_clock_used(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock
) -> None:
    ticket = desk.open("acme-db", Level.II)  # response: 20 minutes
    login(client, users.manager)
    clock.advance(timedelta(minutes=10))
    calm = card(client.get("/queue").text, ticket.number)
    assert "risk-warn" not in calm and "risk-breach" not in calm
    clock.advance(timedelta(minutes=7))  # 85 % used
    warned = card(client.get("/queue").text, ticket.number)
    assert "risk-warn" in warned and "risk-breach" not in warned
    clock.advance(timedelta(minutes=5))  # past due
    page = client.get("/queue")
    breached = card(page.text, ticket.number)
    assert "risk-breach" in breached
    assert "1 breached" in page.text or "1 项超时" in page.text


def test_countdowns_carry_the_due_time_and_the_desks_now(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock
) -> None:
    ticket = desk.open("acme-db", Level.II)
    login(client, users.manager)
    html = client.get("/queue", headers={"Accept-Language": "en"}).text
    assert f'data-now="{clock.now().isoformat()}"' in html
    assert f'data-due="{ticket.due.response.isoformat()}"' in html
    assert 'src="/static/console.js"' in html
    assert 'hx-trigger="every 30s"' in html


def test_filters_by_customer_site_level_and_assignee(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    db = desk.open("acme-db", Level.II)
    fw = desk.open("acme-branch-fw", Level.III)
    his = desk.open("beta-his", Level.I)
    login(client, users.manager)

    def shown(**params: str) -> set[str]:
        return set(numbers(client.get("/queue", params=params).text))

    assert shown() == {db.number, fw.number, his.number}
    assert shown(customer="Beta Hospital") == {his.number}
    assert shown(site="Acme Branch") == {fw.number}
    assert shown(level="III") == {fw.number}
    assert shown(assignee="Li Na") == {fw.number}  # the branch's first engineer
    assert shown(level="nonsense") == {db.number, fw.number, his.number}


def test_mine_is_the_default_for_an_engineer(
    client: AsgiClient, users: Users, desk: Desk, store: Store, clock: FrozenClock
) -> None:
    at_my_site = desk.open("acme-db")  # assigned to Zhang Wei, Acme HQ's engineer
    elsewhere = desk.open("acme-branch-fw")  # Li Na's
    unassigned_elsewhere = desk.open("beta-his")  # Beta Main has no engineer
    login(client, users.engineer)
    page = client.get("/queue")
    assert set(numbers(page.text)) == {at_my_site.number}
    everyone = client.get("/queue", params={"scope": "all"})
    assert set(numbers(everyone.text)) == {
        at_my_site.number,
        elsewhere.number,
        unassigned_elsewhere.number,
    }


def test_mine_includes_unassigned_tickets_at_my_sites(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-core")
    from desk.storage.tables import TicketRow

    with store.write_session() as session:
        row = session.get(TicketRow, ticket.id)
        assert row is not None
        row.assignee = None
    login(client, users.engineer)
    assert numbers(client.get("/queue").text) == [ticket.number]


def test_the_htmx_fragment_is_the_list_alone(client: AsgiClient, users: Users, desk: Desk) -> None:
    ticket = desk.open("acme-db")
    login(client, users.manager)
    rows = client.get("/queue/rows", headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert ticket.number in rows.text
    assert "<html" not in rows.text and 'id="queue"' in rows.text


def test_the_queue_shows_a_page_and_offers_more(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock
) -> None:
    for device in ("acme-db", "acme-core", "acme-branch-fw"):
        desk.open(device)
    login(client, users.manager)
    page = client.get("/queue", params={"limit": "2"})
    assert len(numbers(page.text)) == 2
    assert "limit=102" in page.text


def test_customers_may_not_open_the_queue(client: AsgiClient, users: Users) -> None:
    login(client, users.customer)
    assert client.get("/queue").status_code == 403
    assert client.get("/queue/rows").status_code == 403


def test_the_queue_needs_a_login(client: AsgiClient) -> None:
    answer = client.get("/queue")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_levels_read_as_chinese_levels(client: AsgiClient, users: Users, desk: Desk) -> None:
    desk.open("acme-db", Level.II)
    login(client, users.manager)
    html = client.get("/queue", headers={"Accept-Language": "zh-CN"}).text
    assert "II级" in html
