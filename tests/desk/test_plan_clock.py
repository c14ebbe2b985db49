"""Level IV's second clock is the plan clock, and says so: ``plan`` in the JSON, the
escalations, the due step, the command line and the web page; levels I to III keep
``onsite``. Events stored with either name replay the same clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from desk import steps
from desk.api import create_app
from desk.clocks import ClockName, clock_views, public_name
from desk.escalation import escalate
from desk.model import EventKind, Role
from desk.storage import Store
from desk.tokens import issue_token
from desk.web.views.common import clock_cells, gettext_for
from rules.api import Engine
from weibao.cli.ticket_view import step_lines
from weibao.levels import Level

from .asgi import AsgiClient
from .conftest import START
from .workflow_fixtures import ENGINEER, MANAGER, DeskParts, alarm, desk_parts

M = timedelta(minutes=1)
H = timedelta(hours=1)


@pytest.fixture
def desk(store: Store, engine: Engine) -> DeskParts:
    return desk_parts(store, engine)


@pytest.fixture
def api(desk: DeskParts, engine: Engine) -> Iterator[AsgiClient]:
    app = create_app(desk.store, desk.inventory, engine, desk.clock)
    with AsgiClient(app) as client:
        yield client


def headers(desk: DeskParts, role: Role = Role.manager) -> dict[str, str]:
    issued = issue_token(desk.store, role, None, None, START, name="王磊")
    return {"Authorization": f"Bearer {issued.token}"}


def test_the_name_follows_the_level() -> None:
    assert public_name(ClockName.onsite, Level.IV) == "plan"
    assert public_name(ClockName.onsite, Level.II) == "onsite"
    assert public_name(ClockName.resolve, Level.IV) == "resolve"
    assert ClockName("plan") is ClockName.onsite  # a stored "plan" reads back


def test_a_level_iv_ticket_has_a_plan_clock_in_its_json(desk: DeskParts, api: AsgiClient) -> None:
    [advice] = desk.fire(alarm(level=Level.IV, rule="config_advice"))
    [fault] = desk.fire(alarm(level=Level.II))
    seen = api.get(f"/api/v1/tickets/{advice.number}", headers=headers(desk)).json()
    assert list(seen["clocks"]) == ["response", "plan", "resolve"]
    assert seen["clocks"]["plan"]["due"] == "2026-03-02T12:00:00Z"  # plan within 4 h
    listed = api.get("/api/v1/tickets", headers=headers(desk)).json()["items"]
    by_number = {t["number"]: list(t["clocks"]) for t in listed}
    assert by_number[advice.number] == ["response", "plan", "resolve"]
    assert by_number[fault.number] == ["response", "onsite", "resolve"]


def test_plan_meets_the_plan_clock_and_says_so(desk: DeskParts, api: AsgiClient) -> None:
    [ticket] = desk.fire(alarm(level=Level.IV, rule="config_advice"))
    desk.at(30 * M)
    answer = api.post(
        f"/api/v1/tickets/{ticket.number}/plan",
        json={"plan": "change the NTP servers in the window on Friday"},
        headers=headers(desk, Role.engineer),
    )
    assert answer.status_code == 200, answer.text
    lines = step_lines(answer.json(), START + 30 * M)
    assert "plan met" in lines[1] and "on site" not in lines[1]


def test_a_due_time_moves_on_the_plan_clock_by_either_name(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm(level=Level.IV, rule="config_advice"))
    for name in ("plan", "onsite"):
        moved = desk.workflow.step(
            ticket.number,
            "due",
            steps.MoveDue.model_validate(
                {
                    "clock": name,
                    "due": (START + 8 * H).isoformat(),
                    "reason": "the customer's change board meets Tuesday",
                    "agreed_by": "陈静",
                }
            ),
            MANAGER,
        )
    assert moved.due.onsite == START + 8 * H
    moves = [e for e in desk.store.ticket_events(ticket.id) if e.kind == EventKind.due_moved]
    assert [m.data["clock"] for m in moves] == ["plan", "plan"]


def test_old_events_naming_onsite_still_replay_on_a_level_iv_ticket(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm(level=Level.IV, rule="config_advice"))
    with desk.store.transaction() as tx:
        tx.add_event(
            ticket.id,
            START,
            EventKind.due_moved,
            "王磊",
            {
                "clock": "onsite",
                "due": "2026-03-02T18:00:00+08:00",
                "previous": "2026-03-02T12:00:00+00:00",
                "reason": "agreed",
                "agreed_by": "陈静",
            },
        )
    events = desk.store.ticket_events(ticket.id)
    views = clock_views(desk.workflow.policy(ticket), Level.IV, START, events, START)
    assert views[ClockName.onsite].due == START + 2 * H
    assert views[ClockName.onsite].due.tzinfo is not None
    assert views[ClockName.onsite].due.utcoffset() == timedelta(0)


def test_escalations_and_the_web_page_call_it_plan(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm(level=Level.IV, rule="config_advice"))
    desk.workflow.step(ticket.number, "ack", steps.Ack(), ENGINEER)
    desk.at(4 * H + M)
    now = desk.clock.now()
    with desk.store.transaction() as tx:
        found = tx.ticket_for_update(ticket.id)
        assert found is not None
        done = escalate(tx, found, desk.workflow.policy(found), desk.notify, now)
    assert [(e.clock, e.step) for e in done] == [(ClockName.onsite, "breached")]
    [event] = [e for e in desk.store.ticket_events(ticket.id) if e.kind == EventKind.escalated]
    assert event.data["clock"] == "plan"
    events = desk.store.ticket_events(ticket.id)
    views = clock_views(desk.workflow.policy(ticket), Level.IV, START, events, now)
    cells = clock_cells(views, "Asia/Shanghai", now, 0.8, gettext_for("en"))
    assert [(c.name, c.label) for c in cells][1] == ("plan", "plan")
    zh = clock_cells(views, "Asia/Shanghai", now, 0.8, gettext_for("zh"))
    assert zh[1].label == "方案提交"
