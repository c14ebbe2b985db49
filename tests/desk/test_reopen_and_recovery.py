"""Reopening goes back to work (not back to the queue) and is logged; a fault that
clears after its ticket closed records the recovery on it; a ticket is assigned only to
someone the inventory knows."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from desk import steps
from desk.model import EventKind, TicketStatus
from desk.storage import Store
from desk.workflow import StepRefused
from rules.api import Engine
from weibao.levels import Level

from .conftest import START
from .test_workflow import BODIES, PATHS
from .workflow_fixtures import ENGINEER, MANAGER, DeskParts, alarm, desk_parts

H = timedelta(hours=1)


@pytest.fixture
def desk(store: Store, engine: Engine) -> DeskParts:
    return desk_parts(store, engine)


def closed_ticket(desk: DeskParts) -> str:
    [ticket] = desk.fire(alarm())
    for name in PATHS[TicketStatus.closed]:
        ticket = desk.workflow.step(ticket.number, name, BODIES[name], ENGINEER)
    return ticket.number


def test_a_reopened_ticket_is_back_with_its_engineer_not_in_the_queue(
    desk: DeskParts, caplog: pytest.LogCaptureFixture
) -> None:
    number = closed_ticket(desk)
    desk.at(2 * H)
    with caplog.at_level(logging.INFO, logger="weibao.desk.workflow"):
        t = desk.workflow.step(number, "reopen", steps.Reopen(reason="still slow"), MANAGER)
    assert t.status is TicketStatus.acknowledged and t.assignee == "李强"
    assert t.closed_at is None and t.resolved_at is None and t.met_resolve is None
    assert "ack" not in desk.workflow.offered(t, MANAGER.role)
    last = desk.store.ticket_events(t.id)[-1]
    assert last.kind == EventKind.reopened and last.data == {
        "reason": "still slow",
        "status": "acknowledged",
    }
    [logged] = [r for r in caplog.records if r.getMessage() == "ticket.reopen"]
    assert logged.fields == {  # type: ignore[attr-defined]
        "number": number,
        "status": "acknowledged",
        "by": MANAGER.name,
    }
    # The engineer resolves it again straight away.
    again = desk.workflow.step(number, "resolve", BODIES["resolve"], ENGINEER)
    assert again.status is TicketStatus.resolved


def test_a_ticket_nobody_took_up_reopens_to_open(desk: DeskParts) -> None:
    """Auto-closed after the fault cleared (level III, Acme's auto_close), nobody ever
    acknowledged it: reopened, it waits for someone to take it up."""
    [ticket] = desk.fire(alarm(level=Level.III))
    desk.at(H)
    desk.fire(cleared=(alarm(level=Level.III, at=START + H),))
    desk.at(3 * H)
    desk.housekeeper.run_once()
    closed = desk.store.get_ticket(ticket.id)
    assert closed is not None and closed.status is TicketStatus.closed
    t = desk.workflow.step(ticket.number, "reopen", steps.Reopen(reason="not fixed"), MANAGER)
    assert t.status is TicketStatus.open


def test_a_fault_clearing_after_its_ticket_closed_records_the_recovery(
    desk: DeskParts,
) -> None:
    """Fixed and closed before the next inspection saw the fault gone."""
    number = closed_ticket(desk)
    desk.at(H)
    desk.fire(cleared=(alarm(at=START + H),))
    ticket = desk.store.get_ticket(number)
    assert ticket is not None and ticket.status is TicketStatus.closed
    assert ticket.recovered_at == START + H
    assert desk.store.ticket_events(ticket.id)[-1].kind == EventKind.recovered
    # Cleared again (a second collector, a replay): recorded once.
    desk.fire(cleared=(alarm(at=START + 2 * H),))
    kinds = [e.kind for e in desk.store.ticket_events(ticket.id)]
    assert kinds.count(EventKind.recovered) == 1


def test_assign_needs_a_person_of_the_inventory(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    with pytest.raises(StepRefused) as refused:
        desk.workflow.step(ticket.number, "assign", steps.Assign(engineer="赵明"), MANAGER)
    assert refused.value.status == 422
    assert "'赵明' is not an engineer in the inventory: did you mean '赵敏'?" in str(refused.value)
    assert "the site's engineers: 李强, 赵敏" in str(refused.value)
    # A senior engineer or an engineer of another site is a person of the inventory.
    for name in ("陈工", "王芳", "赵敏"):
        ticket = desk.workflow.step(ticket.number, "assign", steps.Assign(engineer=name), MANAGER)
        assert ticket.assignee == name
