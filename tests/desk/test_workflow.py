"""The engineer's workflow on a frozen clock: every step with who and when, every invalid
step refused with nothing written, parts and stock, pauses, agreed due times,
recurrences, customers' limits and the notices each step queues."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from desk import steps
from desk.clocks import ClockName
from desk.model import EventKind, TicketStatus
from desk.storage import Store, TicketRecord
from desk.workflow import ALLOWED, StepRefused, TicketNotFound
from rules.api import Engine
from weibao.levels import Level

from .conftest import START
from .workflow_fixtures import ACME, BETA, ENGINEER, MANAGER, DeskParts, alarm, desk_parts

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)

BODIES: dict[str, steps.BaseModel] = {
    "ack": steps.Ack(),
    "arrive": steps.Arrive(note="机房 3 楼"),
    "plan": steps.Plan(plan="replace the PSU remotely guided"),
    "note": steps.Note(text="checked the logs"),
    "part": steps.Part(part_number="PSU-500W", from_stock=False, serial_out="A1", serial_in="B2"),
    "resolve": steps.Resolve(diagnosis="PSU 2 failed", cause="aged capacitor", actions="replaced"),
    "signoff": steps.Signoff(name="陈静", satisfaction=5, opinion="及时"),
    "close": steps.Close(reason="customer unreachable"),
    "reopen": steps.Reopen(reason="came back"),
    "assign": steps.Assign(engineer="赵敏"),
    "assist": steps.Assist(reason="two PSUs to carry"),
    "refer": steps.Refer(kind=steps.ReferKind.vendor, to="Huawei TAC 2026-1234", reason="firmware"),
    "pause": steps.Pause(reason="vendor part"),
    "resume": steps.Resume(),
    "due": steps.MoveDue(
        clock=ClockName.resolve,
        due=START + 3 * D,
        reason="customer's change window",
        agreed_by="陈静",
    ),
    "followup": steps.Followup(outcome="satisfied", satisfaction=5),
}

# How to bring a fresh ticket into each status.
PATHS: dict[TicketStatus, list[str]] = {
    TicketStatus.open: [],
    TicketStatus.acknowledged: ["ack"],
    TicketStatus.on_site: ["ack", "arrive"],
    TicketStatus.resolved: ["ack", "arrive", "resolve"],
    TicketStatus.closed: ["ack", "arrive", "resolve", "signoff", "close"],
}


@pytest.fixture
def desk(store: Store, engine: Engine) -> DeskParts:
    return desk_parts(store, engine)


def ticket_in(desk: DeskParts, status: TicketStatus) -> TicketRecord:
    [ticket] = desk.fire(alarm())
    for name in PATHS[status]:
        actor = MANAGER if name == "due" else ENGINEER
        ticket = desk.workflow.step(ticket.number, name, BODIES[name], actor)
    assert ticket.status is status
    return ticket


def kinds(desk: DeskParts, ticket: TicketRecord) -> list[str]:
    return [e.kind for e in desk.store.ticket_events(ticket.id)]


def test_the_whole_workflow_records_who_and_when_and_meets_each_clock(desk: DeskParts) -> None:
    desk.store.stock_part("PSU-500W", "500 W power supply", 3, "上海备件库", START)
    [ticket] = desk.fire(alarm())
    assert ticket.assignee == "李强"  # the site's first engineer (定人服务)
    desk.at(5 * M)
    t = desk.workflow.step(ticket.number, "ack", steps.Ack(note="on my way"), ENGINEER)
    assert t.status is TicketStatus.acknowledged and t.met_response == START + 5 * M
    desk.at(25 * M)
    t = desk.workflow.step(ticket.number, "arrive", steps.Arrive(), ENGINEER)
    assert t.status is TicketStatus.on_site and t.met_onsite == START + 25 * M
    t = desk.workflow.step(
        ticket.number,
        "part",
        steps.Part(
            part_number="PSU-500W", serial_out="SN-OLD-1", serial_in="SN-NEW-7", rma_number="RMA-88"
        ),
        ENGINEER,
    )
    assert [p.quantity for p in desk.store.parts()] == [2]
    [use] = desk.store.part_uses(t.id)
    assert (use.name, use.serial_out, use.serial_in, use.rma_status) == (
        "500 W power supply",
        "SN-OLD-1",
        "SN-NEW-7",
        "open",
    )
    assert [c.serial for c in desk.store.components("acme-db")] == ["SN-NEW-7"]
    assert [u.rma_number for u in desk.store.part_uses(open_rma=True)] == ["RMA-88"]
    desk.at(2 * H)
    t = desk.workflow.step(ticket.number, "resolve", BODIES["resolve"], ENGINEER)
    assert t.status is TicketStatus.resolved and t.met_resolve == START + 2 * H
    t = desk.workflow.step(ticket.number, "signoff", BODIES["signoff"], ACME)
    assert t.signed_off_at == START + 2 * H
    desk.at(3 * H)
    t = desk.workflow.step(ticket.number, "close", steps.Close(), ENGINEER)
    assert t.status is TicketStatus.closed and t.followup_due_at == START + 3 * H + 2 * D
    desk.at(3 * D)
    t = desk.workflow.step(ticket.number, "followup", BODIES["followup"], MANAGER)
    assert t.followup_done_at == START + 3 * D
    events = desk.store.ticket_events(t.id)
    assert [(e.kind, e.actor) for e in events] == [
        ("opened", "weibao"),
        ("acknowledged", "李强"),
        ("arrived", "李强"),
        ("part", "李强"),
        ("resolved", "李强"),
        ("signed_off", "陈静"),
        ("closed", "李强"),
        ("followup_done", "王磊"),
    ]
    assert events[5].data == {"name": "陈静", "opinion": "及时", "satisfaction": 5}


INVALID = [
    (name, status)
    for status in TicketStatus
    for name in BODIES
    if status not in ALLOWED[name] and name != "due"
]


@pytest.mark.parametrize(("name", "status"), INVALID, ids=[f"{n}-{s.value}" for n, s in INVALID])
def test_every_step_that_does_not_fit_the_status_is_refused_and_writes_nothing(
    desk: DeskParts, name: str, status: TicketStatus
) -> None:
    ticket = ticket_in(desk, status)
    before = kinds(desk, ticket)
    with pytest.raises(StepRefused) as refused:
        desk.workflow.step(ticket.number, name, BODIES[name], ENGINEER)
    assert refused.value.status == 409
    assert f"is {status.value}: {name} is not possible now; possible:" in str(refused.value)
    assert kinds(desk, ticket) == before
    assert desk.store.get_ticket(ticket.id).status is status  # type: ignore[union-attr]


def test_closing_without_a_sign_off_needs_a_reason(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.resolved)
    with pytest.raises(StepRefused, match="no customer sign-off") as refused:
        desk.workflow.step(ticket.number, "close", steps.Close(), ENGINEER)
    assert refused.value.status == 422
    closed = desk.workflow.step(ticket.number, "close", BODIES["close"], ENGINEER)
    assert closed.status is TicketStatus.closed


def test_customers_sign_off_their_own_tickets_and_cannot_work_them(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.resolved)
    with pytest.raises(StepRefused) as refused:
        desk.workflow.step(ticket.number, "close", BODIES["close"], ACME)
    assert refused.value.status == 403
    with pytest.raises(TicketNotFound):
        desk.workflow.step(ticket.number, "signoff", BODIES["signoff"], BETA)
    assert desk.workflow.step(ticket.number, "signoff", BODIES["signoff"], ACME).signed_off_at


def test_only_a_manager_moves_a_due_time_and_the_old_one_is_kept(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    with pytest.raises(StepRefused, match="only a manager") as refused:
        desk.workflow.step(ticket.number, "due", BODIES["due"], ENGINEER)
    assert refused.value.status == 403
    moved = desk.workflow.step(ticket.number, "due", BODIES["due"], MANAGER)
    assert moved.due.resolve == START + 3 * D
    [event] = [e for e in desk.store.ticket_events(ticket.id) if e.kind == EventKind.due_moved]
    assert event.data["previous"] == (START + 24 * H).isoformat()
    assert event.data["agreed_by"] == "陈静" and event.actor == "王磊"


def test_pausing_needs_a_reason_the_contract_allows(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    with pytest.raises(StepRefused, match="not a pause reason") as refused:
        desk.workflow.step(ticket.number, "pause", steps.Pause(reason="lunch"), ENGINEER)
    assert refused.value.status == 422
    desk.at(2 * H)
    desk.workflow.step(ticket.number, "pause", BODIES["pause"], ENGINEER)
    with pytest.raises(StepRefused, match="already paused"):
        desk.workflow.step(ticket.number, "pause", BODIES["pause"], ENGINEER)
    desk.at(7 * H)
    resumed = desk.workflow.step(ticket.number, "resume", steps.Resume(), ENGINEER)
    assert resumed.due.resolve == START + 24 * H + 5 * H
    with pytest.raises(StepRefused, match="not paused"):
        desk.workflow.step(ticket.number, "resume", steps.Resume(), ENGINEER)


def test_a_contract_without_pause_reasons_never_pauses(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm(device="beta-his"))
    with pytest.raises(StepRefused, match="does not allow pausing"):
        desk.workflow.step(ticket.number, "pause", BODIES["pause"], ENGINEER)


def test_parts_from_stock_must_be_there(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.acknowledged)
    with pytest.raises(StepRefused, match="not in the spare-part stock") as missing:
        desk.workflow.step(ticket.number, "part", steps.Part(part_number="FAN-1"), ENGINEER)
    assert missing.value.status == 422
    desk.store.stock_part("FAN-1", "fan module", 1, None, START)
    with pytest.raises(StepRefused, match="only 1 of part FAN-1 in stock, 2 asked for"):
        desk.workflow.step(
            ticket.number, "part", steps.Part(part_number="FAN-1", quantity=2), ENGINEER
        )
    assert [p.quantity for p in desk.store.parts()] == [1]
    assert desk.store.part_uses(ticket.id) == []


def test_reassignment_notifies_the_new_engineer(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    moved = desk.workflow.step(ticket.number, "assign", BODIES["assign"], MANAGER)
    assert moved.assignee == "赵敏"
    assigned = [o for o in desk.store.outbox() if o.kind == "ticket.assigned"]
    assert [r["name"] for r in assigned[0].notice["recipients"]] == ["赵敏"]
    with pytest.raises(StepRefused, match="already assigned"):
        desk.workflow.step(ticket.number, "assign", BODIES["assign"], MANAGER)


def test_a_new_ticket_tells_the_assigned_engineer_through_the_channel(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    [queued] = desk.store.outbox()
    assert (queued.channel, queued.kind, queued.ticket, queued.status) == (
        "ops",
        "ticket.opened",
        ticket.number,
        "pending",
    )
    assert [r["name"] for r in queued.notice["recipients"]] == ["李强"]
    assert queued.notice["title"].startswith(f"[II] {ticket.number} acme-db:")


def test_a_recurrence_soon_after_closing_reopens_and_counts(desk: DeskParts) -> None:
    first = ticket_in(desk, TicketStatus.closed)
    desk.at(10 * H)
    [again] = desk.fire(alarm(at=START + 10 * H))
    assert again.id == first.id and again.recurrences == 1
    assert again.status is TicketStatus.open and again.closed_at is None
    assert kinds(desk, again)[-2:] == ["recurred", "reopened"]


def test_a_recurrence_after_the_window_opens_a_linked_ticket(desk: DeskParts) -> None:
    first = ticket_in(desk, TicketStatus.closed)
    desk.at(3 * D)
    [second] = desk.fire(alarm(at=START + 3 * D))
    assert second.id != first.id and second.related == (first.number,)
    desk.workflow.step(second.number, "ack", steps.Ack(), ENGINEER)
    desk.workflow.step(second.number, "resolve", BODIES["resolve"], ENGINEER)
    desk.workflow.step(second.number, "close", BODIES["close"], ENGINEER)
    desk.at(6 * D)
    [third] = desk.fire(alarm(at=START + 6 * D))
    assert third.related == (second.number, first.number)


def test_a_fault_returning_after_recovery_reopens_a_resolved_ticket(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.resolved)
    desk.at(3 * H)
    desk.fire(cleared=(alarm(at=START + 3 * H),))
    desk.at(4 * H)
    [again] = desk.fire(alarm(at=START + 4 * H))
    assert again.id == ticket.id and again.status is TicketStatus.open
    assert again.met_resolve is None


def test_a_fault_still_reported_after_resolution_adds_evidence_only(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.resolved)
    desk.at(3 * H)
    assert desk.fire(alarm(at=START + 3 * H)) == []
    assert desk.store.get_ticket(ticket.id).status is TicketStatus.resolved  # type: ignore[union-attr]
    last = desk.store.ticket_events(ticket.id)[-1]
    assert last.kind == "evidence" and last.data["after_resolution"] is True


def test_monitoring_faults_are_internal_and_hidden_from_customers(desk: DeskParts) -> None:
    [ticket] = desk.fire(
        alarm(rule="agent_silent", level=Level.III, labels={"audience": "operations"})
    )
    assert ticket.internal
    with pytest.raises(TicketNotFound):
        desk.workflow.step(ticket.number, "note", BODIES["note"], ACME)


def queued(desk: DeskParts, kind: str) -> list[Any]:
    """The notices of one kind, oldest first."""
    return sorted((o for o in desk.store.outbox() if o.kind == kind), key=lambda o: o.id)


def help_notices(desk: DeskParts, kind: str) -> list[list[str]]:
    return [[r["name"] for r in o.notice["recipients"]] for o in queued(desk, kind)]


def test_a_call_for_a_second_engineer_reaches_them_and_the_manager(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())  # assigned to 李强
    desk.workflow.step(ticket.number, "assist", steps.Assist(reason="two PSUs"), ENGINEER)
    named = steps.Assist(engineer="赵敏", reason="needs a second pair of hands")
    desk.workflow.step(ticket.number, "assist", named, ENGINEER)
    # Nobody named: the site's other engineers; named: that engineer; the manager both times.
    assert help_notices(desk, "ticket.assist_requested") == [
        ["赵敏", "Wang Li"],
        ["赵敏", "Wang Li"],
    ]
    [first, _] = queued(desk, "ticket.assist_requested")
    assert "two PSUs" in first.notice["body"] and first.notice["facts"]["asked by"] == "李强"


def test_a_referral_reaches_the_senior_named_or_else_all_seniors(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    senior = steps.ReferKind.senior
    desk.workflow.step(
        ticket.number, "refer", steps.Refer(kind=senior, to="刘工", reason="OSPF"), ENGINEER
    )
    desk.workflow.step(
        ticket.number, "refer", steps.Refer(kind=senior, to="on call", reason="x"), ENGINEER
    )
    desk.workflow.step(ticket.number, "refer", BODIES["refer"], ENGINEER)  # to the vendor
    assert help_notices(desk, "ticket.referred") == [["刘工"], ["陈工", "刘工"], ["Wang Li"]]
    vendor = queued(desk, "ticket.referred")[-1]
    assert vendor.notice["facts"]["to"] == "vendor: Huawei TAC 2026-1234"


def test_a_second_sign_off_is_refused_and_keeps_the_first_rating(desk: DeskParts) -> None:
    ticket = ticket_in(desk, TicketStatus.resolved)
    desk.workflow.step(ticket.number, "signoff", BODIES["signoff"], ACME)
    again = steps.Signoff(name="陈静", satisfaction=1, opinion="改主意了")
    with pytest.raises(StepRefused, match="already signed off: to disagree, reopen it"):
        desk.workflow.step(ticket.number, "signoff", again, ACME)
    ratings = [
        e.data.get("satisfaction")
        for e in desk.store.ticket_events(ticket.id)
        if e.kind == EventKind.signed_off
    ]
    assert ratings == [5]


def test_the_desk_log_tells_of_a_fault_that_came_back(
    desk: DeskParts, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A recurrence reopens the ticket: the log says so (it said nothing before)."""
    import logging

    from desk.ingest import Ingestor
    from tests.desk.conftest import observation

    first = ticket_in(desk, TicketStatus.closed)
    desk.at(10 * H)
    ingestor = Ingestor(desk.store, engine, desk.inventory, desk.clock, notify=desk.notify)
    caplog.set_level(logging.INFO, logger="weibao.desk.ingest")
    outcome = ingestor.ingest([observation("acme-db", 0, desk.clock.now())])
    assert [t.number for t in outcome.opened] == []
    [line] = [r for r in caplog.records if r.getMessage() == "ticket.reopened"]
    fields = line.fields  # type: ignore[attr-defined]
    assert (fields["number"], fields["device"]) == (first.number, "acme-db")
