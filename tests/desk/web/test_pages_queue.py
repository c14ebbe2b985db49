"""The engineer's queue: ordering by the nearest due clock, risk colours from the
frozen clock, filters, "mine", the htmx fragment, and who may open it."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from typing import Any

from desk import steps
from desk.model import Role
from desk.storage import Store, TicketRecord
from desk.tickets import apply_alarms
from desk.web.context import WebUser
from desk.web.views.common import gettext_for, risk_class
from desk.web.views.directory import Directory
from desk.web.views.queries import (
    LineFilter,
    TicketLine,
    clock_events,
    irregular_events,
    replay_all,
    standing_of,
    standings,
    ticket_lines,
)
from desk.web.views.queue import MAX_LIMIT, QueueFilters, QueueRow, build_queue, queue_rows
from desk.workflow import Actor, Workflow
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level

from ..asgi import AsgiClient
from .conftest import Users, login
from .page_fixtures import Desk, alarm, desk_fixture, inventory_fixture  # noqa: F401

_NUMBERS = re.compile(r'data-number="(WB-\d{4}-\d{6})"')


def numbers(html: str) -> list[str]:
    return _NUMBERS.findall(html)


def card(html: str, number: str) -> str:
    """The HTML of one ticket's card in a list."""
    start = html.index(f'data-number="{number}"')
    return html[html.rindex("<li", 0, start) : html.index("</li>", start)]


def acknowledge(desk: Desk, ticket: TicketRecord) -> None:
    """Through the workflow, as the console does: it stores the clocks the queue orders by."""
    workflow = Workflow(desk.store, desk.inventory, desk.clock)
    workflow.step(ticket.number, "ack", steps.Ack(), Actor("Zhang Wei", Role.engineer))


def test_tickets_are_ordered_by_the_nearest_due_clock(
    client: AsgiClient, users: Users, desk: Desk, clock: FrozenClock
) -> None:
    # Level IV opened first and acknowledged at once: its next clock is the plan (4 h).
    iv = desk.open("acme-db", Level.IV, rule="advisory")
    acknowledge(desk, iv)
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
    acknowledge(desk, first)
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


# --- the stored-column path gives what a full replay gives ------------------------------

MIXED_INVENTORY: dict[str, Any] = {
    "customers": [
        {
            "name": "Round Clock",
            "contracts": [
                {
                    "id": "RC-2026",
                    "name": "24x7",
                    "start": "2026-01-01",
                    "end": "2026-12-31",
                    "service_manager": {"name": "Wang Li"},
                    "pause_reasons": ["vendor part"],
                    "escalate_at": 0.7,
                    "sites": [
                        {
                            "name": "RC HQ",
                            "hq": True,
                            "devices": [{"name": f"rc-{n}", "kind": "server"} for n in range(8)],
                        },
                        {
                            "name": "RC Branch",
                            "timezone": "Asia/Urumqi",
                            "devices": [{"name": f"rb-{n}", "kind": "server"} for n in range(4)],
                        },
                    ],
                }
            ],
        },
        {
            "name": "Office Hours",
            "contracts": [
                {
                    "id": "OH-2026",
                    "name": "business hours",
                    "start": "2026-01-01",
                    "end": "2026-12-31",
                    "service_manager": {"name": "Wang Li"},
                    "pause_reasons": ["customer access window"],
                    "calendar": {"hours": ["09:00-12:00", "13:30-18:00"], "levels": ["III", "IV"]},
                    "sites": [
                        {
                            "name": "OH Main",
                            "devices": [{"name": f"oh-{n}", "kind": "server"} for n in range(8)],
                        }
                    ],
                }
            ],
        },
    ]
}


def mixed_queue(store: Store, clock: FrozenClock) -> Inventory:
    """Open tickets of every kind the clocks know, taken through the real ingest and
    workflow: met clocks, paused (and resumed) ones, a reopen, an agreed due time, a
    raised level, business hours; then the inventory as the desk reads it later (one
    contract's terms edited, one device gone), so some stored due times are stale.
    The inventory the page must use is returned."""
    before = Inventory.model_validate(MIXED_INVENTORY)
    workflow = Workflow(store, before, clock)
    engineer, manager = Actor("Zhang Wei", Role.engineer), Actor("Wang Li", Role.manager)
    opened: dict[str, TicketRecord] = {}

    def fire(device: str, level: Level) -> TicketRecord:
        fired = alarm(device, level, at=clock.now())
        with store.transaction() as tx:
            out = apply_alarms(tx, [fired], [], before.device_index(), clock.now())
        return (out.opened or [opened[device]])[0]

    def step(device: str, name: str, body: Any, actor: Actor = engineer) -> None:
        workflow.step(opened[device].number, name, body, actor)

    levels = [Level.I, Level.II, Level.III, Level.IV]
    for n in range(8):
        for device in (f"rc-{n}", f"oh-{n}"):
            opened[device] = fire(device, levels[n % 4])
        if n < 4:
            opened[f"rb-{n}"] = fire(f"rb-{n}", levels[(n + 1) % 4])
        clock.advance(timedelta(minutes=23))
    resolved = steps.Resolve(diagnosis="d", cause="c", actions="a")
    for device in ("rc-0", "rc-1", "oh-1", "oh-2", "rb-0", "rc-5", "rc-6", "oh-6"):
        step(device, "ack", steps.Ack())
    for device in ("rc-1", "oh-2"):
        step(device, "arrive", steps.Arrive())
    step("rc-2", "pause", steps.Pause(reason="vendor part"))  # paused until now
    step("oh-3", "pause", steps.Pause(reason="customer access window"))
    step("rc-3", "pause", steps.Pause(reason="vendor part"))
    step("rc-5", "resolve", resolved)  # resolved: every clock met, last in the queue
    step("rc-6", "resolve", resolved)
    clock.advance(timedelta(hours=2, minutes=7))
    step("rc-3", "resume", steps.Resume())  # a pause behind it
    step("rc-6", "reopen", steps.Reopen(reason="again"))  # the resolved time does not count
    due = clock.now() + timedelta(hours=5)
    for device, moved in (("rc-4", "resolve"), ("oh-4", "response")):
        agreed = steps.MoveDue(clock=moved, due=due, reason="r", agreed_by="c")
        step(device, "due", agreed, manager)
    fire("oh-5", Level.I)  # III -> I: the raised level's terms, 24x7 now
    fire("rc-7", Level.I)  # IV -> I
    step("oh-6", "resolve", resolved)
    step("oh-6", "close", steps.Close(reason="unreachable"))  # closed: not in the queue
    after = copy.deepcopy(MIXED_INVENTORY)
    after["customers"][0]["contracts"][0]["sla"] = {
        "I": {"resolve": "6h"},
        "II": {"resolve": "30h"},
    }
    after["customers"][0]["contracts"][0]["sites"][1]["devices"].pop()  # rb-3 left
    return Inventory.model_validate(after)


def replayed_queue(
    store: Store, directory: Directory, where: LineFilter, now: datetime
) -> tuple[list[str], list[QueueRow], int, int]:
    """The queue as a replay of every ticket's events makes it: the reference."""
    policies = directory.policies
    lines = ticket_lines(store, where)
    views = replay_all(lines, clock_events(store, where), policies, now)

    def key(line: TicketLine) -> tuple[datetime, int, str]:
        pending = [v.due for v in views[line.id].clocks.values() if v.met_at is None]
        nearest = min(pending).replace(tzinfo=None) if pending else datetime.max
        return (nearest, line.level.rank, line.number)

    ordered = sorted(lines, key=key)
    breached = at_risk = 0
    for line in ordered:
        escalate_at = policies.of(line).escalate_at
        risks = {risk_class(v, escalate_at) for v in views[line.id].clocks.values() if not v.met_at}
        breached += "risk-breach" in risks
        at_risk += "risk-warn" in risks and "risk-breach" not in risks
    rows = queue_rows(ordered, views, directory, now, "en", gettext_for("en"))
    return [line.number for line in ordered], rows, breached, at_risk


MANAGER = WebUser(1, "wang", "Wang Li", Role.manager, None, None, "en", "csrf")


def test_the_queue_from_stored_clocks_is_the_queue_a_full_replay_gives(
    store: Store, clock: FrozenClock
) -> None:
    directory = Directory(mixed_queue(store, clock))
    where = LineFilter(active=True)
    start = clock.now()
    paths = {"replayed": 0, "settled": 0}
    seen = {"breached": 0, "at risk": 0}
    # Through the night, the business day and beyond: risk and breach come and go,
    # paused due times move on, business hours stand still overnight.
    for offset in (0, 10, 25, 50, 95, 180, 400, 900, 1500, 2600, 4400, 7300):
        now = start + timedelta(minutes=offset)
        order, rows, breached, at_risk = replayed_queue(store, directory, where, now)
        lines = {line.id: line for line in ticket_lines(store, where)}
        replayed = replay_all(lines.values(), clock_events(store, where), directory.policies, now)
        fast = standings(store, where, directory.policies, now)
        for s in fast:
            line = lines[s.id]
            policy = directory.policies.of(line)
            assert s == standing_of(s.id, s.number, line.level, replayed[s.id], policy.escalate_at)
        view = build_queue(
            store,
            directory,
            MANAGER,
            QueueFilters(limit=MAX_LIMIT),
            now,
            "en",
            gettext_for("en"),
        )
        assert [r.number for r in view.rows] == order
        assert view.rows == rows  # countdowns, risk classes, every clock cell
        assert (view.total, view.breached, view.at_risk) == (len(order), breached, at_risk)
        short = build_queue(
            store, directory, MANAGER, QueueFilters(limit=5), now, "en", gettext_for("en")
        )
        assert short.rows == rows[:5] and short.total == len(order)
        irregular = irregular_events(store, where)
        paths["replayed"] += len(irregular)
        paths["settled"] += len(fast) - len(irregular)
        seen["breached"] += breached
        seen["at risk"] += at_risk
    # Both paths ran, and the views had something to colour.
    assert paths["replayed"] and paths["settled"]
    assert seen["breached"] and seen["at risk"]
