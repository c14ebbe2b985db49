"""Escalation, auto-close and follow-ups on a frozen clock: each escalation step once,
also after a restart (a new housekeeper on the same database), travel time, and the
notices that go to the service manager."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk import steps
from desk.escalation import BREACHED, CANNOT_MEET, WARNING
from desk.housekeeping import Housekeeper
from desk.ingest import Ingestor
from desk.model import EventKind, TicketStatus
from desk.storage import Store, TicketRecord
from rules.api import Engine
from weibao.levels import Level

from .conftest import START
from .workflow_fixtures import ENGINEER, DeskParts, alarm, desk_parts

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def desk(store: Store, engine: Engine) -> DeskParts:
    return desk_parts(store, engine)


def escalations(desk: DeskParts, ticket: TicketRecord) -> list[tuple[str, str]]:
    return [
        (e.data["clock"], e.data["step"])
        for e in desk.store.ticket_events(ticket.id)
        if e.kind == EventKind.escalated
    ]


def steps_at(desk: DeskParts, offset: timedelta) -> list[tuple[str, str]]:
    desk.at(offset)
    return [(s.clock.value, s.step) for s in desk.housekeeper.run_once().escalated]


def test_each_step_of_each_clock_is_announced_once(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())  # level II at an HQ site: 20 min, 30 min, 24 h
    assert steps_at(desk, 15 * M) == []
    assert steps_at(desk, 16 * M) == [("response", WARNING)]  # 80 % of 20 min
    assert steps_at(desk, 17 * M) == []
    assert steps_at(desk, 21 * M) == [("response", BREACHED)]
    assert steps_at(desk, 24 * M) == [("onsite", WARNING)]
    assert steps_at(desk, 31 * M) == [("onsite", BREACHED)]
    assert escalations(desk, ticket) == [
        ("response", WARNING),
        ("response", BREACHED),
        ("onsite", WARNING),
        ("onsite", BREACHED),
    ]
    manager = [o for o in desk.store.outbox() if o.kind == "ticket.escalated"]
    assert len(manager) == 4
    assert {r["name"] for r in manager[0].notice["recipients"]} == {"李强", "Wang Li"}
    assert manager[0].notice["facts"]["step"] in (WARNING, BREACHED)


def test_a_restarted_or_second_desk_does_not_repeat_a_step(
    desk: DeskParts, store: Store, engine: Engine
) -> None:
    desk.fire(alarm())
    assert steps_at(desk, 21 * M) == [("response", BREACHED)]
    other = Housekeeper(
        store,
        desk.inventory,
        desk.clock,
        Ingestor(store, engine, desk.inventory, desk.clock),
        desk.notify,
    )
    assert other.run_once().escalated == []
    assert len([o for o in store.outbox() if o.kind == "ticket.escalated"]) == 1


def test_a_desk_that_was_down_announces_only_the_gravest_step(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    assert steps_at(desk, 40 * M) == [("response", BREACHED), ("onsite", BREACHED)]
    [event, _] = [e for e in desk.store.ticket_events(ticket.id) if e.kind == "escalated"]
    assert event.data["also"] == [WARNING]


def test_a_met_clock_does_not_escalate(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    desk.at(10 * M)
    desk.workflow.step(ticket.number, "ack", steps.Ack(), ENGINEER)
    desk.workflow.step(ticket.number, "arrive", steps.Arrive(), ENGINEER)
    assert steps_at(desk, 2 * H) == []


def test_travel_time_warns_when_the_site_can_no_longer_be_reached_in_time(
    desk: DeskParts,
) -> None:
    desk.fire(alarm(device="acme-branch-fw"))  # remote site: on site within 2 h; 90 min away
    assert steps_at(desk, 30 * M) == [("response", BREACHED)]
    assert steps_at(desk, 31 * M) == [("onsite", CANNOT_MEET)]


def test_a_level_raise_makes_a_new_due_time_and_new_steps(desk: DeskParts) -> None:
    desk.fire(alarm(level=Level.III))
    assert steps_at(desk, 20 * H) == [
        ("response", BREACHED),
        ("onsite", BREACHED),
        ("resolve", WARNING),  # 20 of 24 h
    ]
    desk.at(20 * H)
    desk.fire(alarm(level=Level.I, at=START + 20 * H))
    assert ("resolve", BREACHED) in steps_at(desk, 20 * H + M)  # level I: 4 h, long gone


def test_a_paused_clock_does_not_escalate(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    desk.at(10 * M)
    desk.workflow.step(ticket.number, "ack", steps.Ack(), ENGINEER)
    desk.workflow.step(ticket.number, "arrive", steps.Arrive(), ENGINEER)
    desk.workflow.step(ticket.number, "pause", steps.Pause(reason="vendor part"), ENGINEER)
    assert steps_at(desk, 3 * D) == []


def test_recovered_minor_faults_close_after_the_quiet_period(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm(level=Level.III))
    desk.at(10 * M)
    desk.fire(cleared=(alarm(level=Level.III, at=START + 10 * M),))
    desk.at(69 * M)
    assert desk.housekeeper.run_once().auto_closed == []
    desk.at(71 * M)
    assert desk.housekeeper.run_once().auto_closed == [ticket.number]
    closed = desk.store.get_ticket(ticket.id)
    assert closed is not None and closed.status is TicketStatus.closed
    assert closed.met_resolve == START + 10 * M  # service came back when the fault cleared
    assert closed.followup_due_at is None


def test_serious_faults_are_never_closed_automatically(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm(level=Level.II))
    desk.fire(cleared=(alarm(level=Level.II),))
    desk.at(2 * D)
    assert desk.housekeeper.run_once().auto_closed == []
    assert desk.store.get_ticket(ticket.id).status is TicketStatus.open  # type: ignore[union-attr]


def test_a_due_follow_up_call_is_announced_once(desk: DeskParts) -> None:
    [ticket] = desk.fire(alarm())
    desk.at(10 * M)
    for name, body in (
        ("ack", steps.Ack()),
        ("resolve", steps.Resolve(diagnosis="d", cause="c", actions="a")),
        ("signoff", steps.Signoff(name="陈静", satisfaction=4)),
        ("close", steps.Close()),
    ):
        desk.workflow.step(ticket.number, name, body, ENGINEER)
    desk.at(2 * D)
    assert desk.housekeeper.run_once().followups == []
    desk.at(2 * D + 11 * M)
    assert desk.housekeeper.run_once().followups == [ticket.number]
    assert desk.housekeeper.run_once().followups == []
    [due] = [o for o in desk.store.outbox() if o.kind == "followup.due"]
    assert [r["name"] for r in due.notice["recipients"]] == ["Wang Li"]


def test_silence_opens_an_internal_ticket_without_any_new_observation(store: Store) -> None:
    import rules
    from desk.ingest import Ingestor

    from .conftest import observation

    pack = rules.load_engine(None)
    desk = desk_parts(store, pack)
    Ingestor(store, pack, desk.inventory, desk.clock).ingest(
        [observation("acme-db", 1, START, obs_id="obs-silence-1")]
    )
    desk.at(9 * M)
    assert desk.housekeeper.run_once().opened == []
    desk.at(11 * M)
    [number] = desk.housekeeper.run_once().opened
    ticket = store.get_ticket(number)
    assert ticket is not None and ticket.rule == "agent_silent" and ticket.internal


def test_a_fault_outlasting_maintenance_opens_at_once_with_clocks_from_its_end(
    store: Store, engine: Engine
) -> None:
    import copy

    from desk.notices import TicketNotifier
    from weibao.clock import FrozenClock
    from weibao.inventory.model import Inventory

    from .conftest import INVENTORY, observation

    data = copy.deepcopy(INVENTORY)
    window = {"start": START.isoformat(), "end": (START + H).isoformat(), "reason": "upgrade"}
    data["customers"][0]["contracts"][0]["sites"][0]["devices"][1]["maintenance"] = [window]
    inventory = Inventory.model_validate(data)
    clock = FrozenClock(START + 10 * M)
    ingestor = Ingestor(store, engine, inventory, clock)
    housekeeper = Housekeeper(store, inventory, clock, ingestor, TicketNotifier(inventory))
    assert ingestor.ingest([observation("acme-db", 0, START + 10 * M)]).opened == []
    clock.set(START + H + 30 * (M / 60))  # the next round after the window's end
    [number] = housekeeper.run_once().opened
    ticket = store.get_ticket(number)
    assert ticket is not None and ticket.detected_at == START + H
    assert ticket.due.response == START + H + 20 * M


def test_a_collector_behind_schedule_opens_an_internal_ticket(store: Store) -> None:
    import rules
    from desk.ingest import Ingestor
    from weibao.observation import Observation

    pack = rules.load_engine(None)
    desk = desk_parts(store, pack)
    ingestor = Ingestor(store, pack, desk.inventory, desk.clock)
    opened: list[str] = []
    for minute in range(17):
        desk.at(minute * M)
        lag = {"name": "schedule_lag_ratio", "labels": {"source": "snmp"}, "value": 2.0}
        obs = Observation.model_validate(
            {
                "device": "acme-core",
                "source": "snmp",
                "time": START + minute * M,
                "samples": [{"name": "up", "value": 1.0}, lag],
            }
        )
        opened += ingestor.ingest([obs]).opened
    tickets = [store.get_ticket(number) for number in opened]
    # (the servers' agents of this inventory are silent meanwhile: their own tickets)
    [ticket] = [t for t in tickets if t is not None and t.device == "acme-core"]
    assert ticket.rule == "collector_behind" and ticket.internal
    assert ticket.level is Level.IV
