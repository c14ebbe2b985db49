"""Advisories (a warranty or contract ending, end of support) are the service manager's:
internal (never shown to the customer), assigned to the service manager, told to the
service manager alone, and without SLA clocks, so nothing breaches or escalates at
night. Their titles read in the right tense."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from rich.console import Console

import rules
from desk import steps
from desk.api import create_app
from desk.escalation import escalate
from desk.housekeeping import Housekeeper
from desk.ingest import Ingestor
from desk.model import Role
from desk.notices import TicketNotifier
from desk.storage import Store, TicketQuery, TicketRecord
from desk.tokens import issue_token
from desk.workflow import TicketNotFound, Workflow
from weibao.cli.ticket_view import render_ticket, step_lines, ticket_table
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Sample

from .asgi import AsgiClient
from .conftest import START
from .workflow_fixtures import ACME, ENGINEER, DeskParts, desk_parts, workflow_inventory

H = timedelta(hours=1)
D = timedelta(days=1)


def advisory(at: Any = START) -> Alarm:
    return Alarm(
        fingerprint="warranty_ending:acme-db",
        device="acme-db",
        level=Level.IV,
        rule="warranty_ending",
        title="acme-db: warranty ended 69 days ago (2025-12-23)",
        labels={"category": "advisory", "audience": "management"},
        evidence=[Sample(name="warranty_end_timestamp", value=1766448000)],
        observed_at=at,
    )


@pytest.fixture
def desk(store: Store, engine: Any) -> DeskParts:
    return desk_parts(store, engine)


def opened(desk: DeskParts) -> TicketRecord:
    [ticket] = desk.fire(advisory())
    return ticket


def test_an_advisory_is_the_service_managers_and_hidden_from_the_customer(
    desk: DeskParts,
) -> None:
    ticket = opened(desk)
    assert ticket.internal and ticket.assignee == "Wang Li"
    with pytest.raises(TicketNotFound):
        desk.workflow.step(ticket.number, "note", steps.Note(text="?"), ACME)
    [notice] = [o for o in desk.store.outbox() if o.kind == "ticket.opened"]
    assert [r["name"] for r in notice.notice["recipients"]] == ["Wang Li"]
    facts = notice.notice["facts"]
    assert "respond by" not in facts and facts["service manager"] == "Wang Li"
    assert notice.notice["body"].startswith("服务提醒 advisory for the service manager")


def test_an_advisory_runs_no_clock_and_never_escalates(desk: DeskParts) -> None:
    ticket = opened(desk)
    # Stored as the replay gives them: nothing pending, so no list shows it overdue.
    assert ticket.met_response == ticket.met_onsite == ticket.met_resolve == START
    for later in (30 * timedelta(minutes=1), 5 * H, 4 * D):
        desk.at(later)
        with desk.store.transaction() as tx:
            found = tx.ticket_for_update(ticket.id)
            assert found is not None
            done = escalate(tx, found, desk.workflow.policy(found), desk.notify, desk.clock.now())
        assert done == []
    assert not [o for o in desk.store.outbox() if o.kind == "ticket.escalated"]
    # The service manager still works it: planned, then closed.
    t = desk.workflow.step(ticket.number, "plan", steps.Plan(plan="offer a renewal"), ENGINEER)
    resolve = steps.Resolve(diagnosis="ended", cause="not renewed", actions="renewal signed")
    t = desk.workflow.step(t.number, "resolve", resolve, ENGINEER)
    t = desk.workflow.step(t.number, "close", steps.Close(reason="renewed"), ENGINEER)
    assert t.followup_due_at is None  # internal: no follow-up call to the customer


def test_the_api_and_the_command_line_show_no_clock(desk: DeskParts, engine: Any) -> None:
    ticket = opened(desk)
    app = create_app(desk.store, desk.inventory, engine, desk.clock)
    token = issue_token(desk.store, Role.manager, None, None, START, name="Wang Li").token
    customer = issue_token(desk.store, Role.customer, "Acme Bank", None, START).token
    with AsgiClient(app) as client:
        seen = client.get(
            f"/api/v1/tickets/{ticket.number}", headers={"Authorization": f"Bearer {token}"}
        )
        listed = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {customer}"})
    body = seen.json()
    assert body["clocks"] is None and body["internal"] is True
    assert listed.json()["items"] == []
    console = Console(width=200, record=True)
    console.print(render_ticket(body, START + H))
    shown = console.export_text()
    assert "no SLA clock (advisory)" in shown and "advisory for the service manager" in shown
    assert "warranty ended 69 days ago" in shown
    assert step_lines(body, START)[1] == "  clocks: no SLA clock (advisory)"
    console = Console(width=200, record=True)
    console.print(ticket_table([body], START + 5 * H))
    assert "overdue" not in console.export_text()


@pytest.fixture
def dated_inventory() -> Inventory:
    inventory = workflow_inventory()
    data = inventory.model_dump(mode="json", exclude_none=True)
    data = copy.deepcopy(data)
    device = data["customers"][0]["contracts"][0]["sites"][0]["devices"][1]
    device["warranty_end"] = (START - 69 * D).date().isoformat()
    return Inventory.model_validate(data)


def test_the_default_pack_opens_a_managers_advisory_in_the_past_tense(
    store: Store, dated_inventory: Inventory
) -> None:
    clock = FrozenClock(START)
    engine = rules.load_engine()  # the default pack
    notify = TicketNotifier(dated_inventory)
    ingestor = Ingestor(store, engine, dated_inventory, clock, notify=notify)
    keeper = Housekeeper(store, dated_inventory, clock, ingestor, notify)
    keeper.run_once()
    found = [t for t in _tickets(store) if t.rule == "warranty_ending"]
    assert len(found) == 1
    [ticket] = found
    assert ticket.title.startswith("acme-db: warranty ended 69 days ago")
    assert ticket.internal and ticket.assignee == "Wang Li"
    assert ticket.met_response is not None
    wf = Workflow(store, dated_inventory, clock, notify)
    assert wf.offered(ticket, Role.customer) == ["note"]


def _tickets(store: Store) -> Iterator[TicketRecord]:
    yield from store.list_tickets(TicketQuery(limit=100))
