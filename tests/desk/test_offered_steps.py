"""The steps offered (API ``allowed_steps``, the command line's "possible now", the web
page's forms) are exactly those the workflow accepts, per role, contract and state:
every offered step is taken for real on a fresh ticket, and the steps held back are
the ones the issue found offered and then refused."""

from __future__ import annotations

import pytest

from desk.model import Role, TicketStatus
from desk.storage import Store, TicketRecord
from desk.workflow import ALLOWED, STEP_ORDER, StepRefused
from rules.api import Engine

from .test_workflow import BODIES, PATHS
from .workflow_fixtures import ACME, ENGINEER, MANAGER, DeskParts, alarm, desk_parts

ACTORS = {Role.engineer: ENGINEER, Role.manager: MANAGER, Role.customer: ACME}
CASES = [(role, status) for role in ACTORS for status in TicketStatus]


def test_every_step_has_a_place_in_the_order() -> None:
    assert sorted(STEP_ORDER) == sorted(ALLOWED)


@pytest.fixture
def desk(store: Store, engine: Engine) -> DeskParts:
    return desk_parts(store, engine)


def ticket_in(
    desk: DeskParts, status: TicketStatus, rule: str = "device_unreachable", device: str = "acme-db"
) -> TicketRecord:
    """A fresh ticket (its own fault: ``rule``) brought into ``status`` by an engineer."""
    [ticket] = desk.fire(alarm(device, rule=rule))
    for name in PATHS[status]:
        ticket = desk.workflow.step(ticket.number, name, BODIES[name], ENGINEER)
    return ticket


@pytest.mark.parametrize(("role", "status"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_each_offered_step_is_accepted(desk: DeskParts, role: Role, status: TicketStatus) -> None:
    offered = desk.workflow.offered(ticket_in(desk, status), role)
    assert offered, "every role that reads tickets may at least add a note"
    for i, name in enumerate(offered):
        # A fresh ticket per step, so one step does not change what the next one finds.
        ticket = ticket_in(desk, status, rule=f"fault_{i}")
        try:
            desk.workflow.step(ticket.number, name, BODIES[name], ACTORS[role])
        except StepRefused as exc:
            pytest.fail(f"{name} was offered to {role} on a {status} ticket, then refused: {exc}")


def test_steps_held_back_are_refused(desk: DeskParts) -> None:
    """What the issue found offered and then refused is no longer offered."""
    ticket = ticket_in(desk, TicketStatus.acknowledged)
    engineer = desk.workflow.offered(ticket, Role.engineer)
    assert "due" not in engineer  # managers only
    assert "resume" not in engineer  # nothing is paused
    assert "pause" in engineer  # Acme's contract has pause reasons
    for name in ("due", "resume"):
        with pytest.raises(StepRefused):
            desk.workflow.step(ticket.number, name, BODIES[name], ENGINEER)
    assert "due" in desk.workflow.offered(ticket, Role.manager)
    paused = desk.workflow.step(ticket.number, "pause", BODIES["pause"], ENGINEER)
    now = desk.workflow.offered(paused, Role.engineer)
    assert "resume" in now and "pause" not in now


def test_pause_is_not_offered_under_a_contract_without_pause_reasons(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.acknowledged, device="beta-his")  # no pause reasons
    assert "pause" not in desk.workflow.offered(ticket, Role.engineer)
    with pytest.raises(StepRefused):
        desk.workflow.step(ticket.number, "pause", BODIES["pause"], ENGINEER)


def test_what_is_offered_by_role_and_state(desk: DeskParts) -> None:
    got: dict[str, dict[str, list[str]]] = {}
    for i, status in enumerate(TicketStatus):
        ticket = ticket_in(desk, status, rule=f"fault_{i}")
        got[status.value] = {
            role.value: desk.workflow.offered(ticket, role)
            for role in (Role.engineer, Role.manager, Role.customer, Role.agent)
        }
    active = ["note", "pause", "assign", "assist", "refer"]
    assert got["open"]["engineer"] == ["ack", "arrive", "plan", *active]
    assert got["open"]["manager"] == ["ack", "arrive", "plan", *active, "due"]
    assert got["open"]["customer"] == ["note"]
    assert got["open"]["agent"] == []
    assert got["acknowledged"]["engineer"] == [
        "arrive",
        "plan",
        "resolve",
        "note",
        "part",
        *active[1:],
    ]
    assert got["resolved"]["engineer"] == ["signoff", "close", "reopen", "note", "part", "assign"]
    assert got["resolved"]["customer"] == ["signoff", "note"]
    assert "due" not in got["resolved"]["manager"]  # every clock met: nothing to move
    # Signed off on the way to closed: no second sign-off; the follow-up call is due.
    assert got["closed"]["engineer"] == ["reopen", "note", "followup"]
    assert got["closed"]["customer"] == ["note"]


def test_a_follow_up_call_is_offered_once_and_never_on_internal_tickets(
    desk: DeskParts,
) -> None:
    ticket = ticket_in(desk, TicketStatus.closed)
    done = desk.workflow.step(ticket.number, "followup", BODIES["followup"], MANAGER)
    assert "followup" not in desk.workflow.offered(done, Role.manager)
    [internal] = desk.fire(alarm(rule="agent_silent", labels={"audience": "operations"}))
    for name in PATHS[TicketStatus.closed]:
        internal = desk.workflow.step(internal.number, name, BODIES[name], ENGINEER)
    assert internal.internal and internal.followup_due_at is None
    assert "followup" not in desk.workflow.offered(internal, Role.manager)
    with pytest.raises(StepRefused, match="no follow-up call"):
        desk.workflow.step(internal.number, "followup", BODIES["followup"], MANAGER)


def test_a_refusal_lists_what_this_role_may_do(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.open)
    with pytest.raises(StepRefused) as refused:
        desk.workflow.step(ticket.number, "resolve", BODIES["resolve"], ENGINEER)
    assert str(refused.value).endswith(
        "possible: ack, arrive, plan, note, pause, assign, assist, refer"
    )
