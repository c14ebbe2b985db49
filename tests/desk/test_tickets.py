"""From alarm to ticket: opening, one ticket per fingerprint, level raise, recovery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from desk.model import EventKind, TicketStatus
from desk.storage import Store, TicketQuery
from desk.tickets import TicketOutcome, apply_alarms, format_number
from weibao.inventory.model import Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Sample

from .conftest import START, twin_of

M = timedelta(minutes=1)
H = timedelta(hours=1)


def alarm(
    device: str = "acme-db",
    level: Level = Level.II,
    at: datetime = START,
    fingerprint: str | None = None,
    obs_id: str = "obs-00001",
) -> Alarm:
    return Alarm(
        fingerprint=fingerprint or f"device_unreachable:{device}",
        device=device,
        level=level,
        rule="device_unreachable",
        title=f"{device} is unreachable",
        evidence=[Sample(name="up", value=0)],
        observed_at=at,
        observation_id=obs_id,
    )


def apply(
    store: Store,
    inventory: Inventory,
    now: datetime,
    firing: Sequence[Alarm] = (),
    cleared: Sequence[Alarm] = (),
) -> TicketOutcome:
    with store.transaction() as tx:
        return apply_alarms(tx, firing, cleared, inventory.device_index(), now)


def test_an_alarm_opens_a_ticket_with_clocks_from_detection(
    store: Store, inventory: Inventory
) -> None:
    outcome = apply(store, inventory, START + 1 * M, firing=[alarm(at=START)])
    [ticket] = outcome.opened
    assert ticket.number == "WB-2026-000001"
    assert (ticket.customer, ticket.contract, ticket.site, ticket.device) == (
        "Acme Bank",
        "ACME-2026",
        "Acme HQ",
        "acme-db",
    )
    assert ticket.level is Level.II and ticket.status is TicketStatus.open
    assert ticket.detected_at == START
    assert ticket.due.response == START + 20 * M
    assert ticket.due.onsite == START + 30 * M  # HQ site
    assert ticket.due.resolve == START + 24 * H
    [opened] = store.ticket_events(ticket.id)
    assert opened.kind == EventKind.opened and opened.actor == "weibao"
    assert opened.data["samples"] == [{"name": "up", "labels": {}, "value": 0.0}]


def test_an_observation_from_the_future_does_not_delay_the_clocks(
    store: Store, inventory: Inventory
) -> None:
    outcome = apply(store, inventory, START, firing=[alarm(at=START + 1 * H)])
    assert outcome.opened[0].detected_at == START


def test_many_alarms_for_one_fault_make_one_ticket_with_evidence(
    store: Store, inventory: Inventory
) -> None:
    for i in range(5):
        at = START + i * M
        apply(store, inventory, at, firing=[alarm(at=at, obs_id=f"obs-{i:05d}")])
    [ticket] = store.list_tickets(TicketQuery())
    assert ticket.evidence_count == 5  # the opening alarm and four reports
    assert ticket.last_seen_at == START + 4 * M
    # A count and the first and last report, not a row per inspection (issue #15 item 10).
    opened, latest = store.ticket_events(ticket.id)
    assert (opened.kind, latest.kind) == ("opened", "evidence")
    assert opened.data["observation_id"] == "obs-00000"
    assert latest.data["observation_id"] == "obs-00004"
    assert latest.data["reports"] == 4
    assert latest.data["first_at"] == (START + M).isoformat()


def test_a_step_between_reports_keeps_both_runs_of_evidence(
    store: Store, inventory: Inventory
) -> None:
    for i in range(3):
        apply(store, inventory, START + i * M, firing=[alarm(at=START + i * M, obs_id=f"o-{i}")])
    [ticket] = store.list_tickets(TicketQuery())
    with store.transaction() as tx:
        tx.add_event(ticket.id, START + 2 * M, EventKind.acknowledged, "李强", {})
    for i in range(3, 6):
        apply(store, inventory, START + i * M, firing=[alarm(at=START + i * M, obs_id=f"o-{i}")])
    events = store.ticket_events(ticket.id)
    kinds = [e.kind for e in events]
    assert kinds == ["opened", "evidence", "acknowledged", "evidence"]
    assert [e.data.get("reports", 1) for e in events if e.kind == "evidence"] == [2, 3]
    [ticket] = store.list_tickets(TicketQuery())
    assert ticket.evidence_count == 6


def test_different_faults_get_their_own_numbers(store: Store, inventory: Inventory) -> None:
    outcome = apply(
        store,
        inventory,
        START,
        firing=[alarm("acme-db"), alarm("acme-core", Level.I), alarm("beta-his")],
    )
    assert [t.number for t in outcome.opened] == [format_number(2026, n) for n in (1, 2, 3)]
    next_year = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    later = apply(store, inventory, next_year, firing=[alarm("acme-branch-fw", at=next_year)])
    assert later.opened[0].number == "WB-2027-000001"


def test_a_worse_level_raises_the_ticket_and_recomputes_due_from_detection(
    store: Store, inventory: Inventory
) -> None:
    apply(store, inventory, START, firing=[alarm(level=Level.III)])
    raised_at = START + 3 * H
    outcome = apply(store, inventory, raised_at, firing=[alarm(level=Level.I, at=raised_at)])
    [ticket] = outcome.raised
    assert ticket.level is Level.I
    assert ticket.detected_at == START  # the customer's wait started then
    assert ticket.due.resolve == START + 4 * H  # level I, from detection, not from 03:00
    assert ticket.due.onsite == START + 30 * M
    events = store.ticket_events(ticket.id)
    raised = [e for e in events if e.kind == EventKind.level_raised]
    assert len(raised) == 1
    assert raised[0].data["from"] == "III" and raised[0].data["to"] == "I"
    assert raised[0].data["previous_due"]["resolve"] == (START + 24 * H).isoformat()

    # A milder alarm later never lowers the level.
    calmer = apply(store, inventory, raised_at + M, firing=[alarm(level=Level.II, at=raised_at)])
    assert calmer.evidence[0].level is Level.I


def test_recovery_is_recorded_once_and_the_ticket_stays_for_the_engineer(
    store: Store, inventory: Inventory
) -> None:
    [ticket] = apply(store, inventory, START, firing=[alarm()]).opened
    cleared_at = START + 10 * M
    outcome = apply(store, inventory, cleared_at, cleared=[alarm(at=cleared_at)])
    [recovered] = outcome.recovered
    assert recovered.recovered_at == cleared_at
    assert recovered.status is TicketStatus.open
    assert apply(store, inventory, cleared_at + M, cleared=[alarm(at=cleared_at)]).recovered == []

    back = apply(store, inventory, cleared_at + 5 * M, firing=[alarm(at=cleared_at + 5 * M)])
    assert back.evidence[0].recovered_at is None
    kinds = [e.kind for e in store.ticket_events(ticket.id)]
    assert kinds == ["opened", "recovered", "evidence"]
    assert store.ticket_events(ticket.id)[-1].data["returned_after_recovery"] is True


def test_an_alarm_for_a_device_without_contract_opens_nothing(
    store: Store, inventory: Inventory
) -> None:
    outcome = apply(store, inventory, START, firing=[alarm("stranger")])
    assert outcome.opened == [] and [a.device for a in outcome.orphaned] == ["stranger"]


def test_the_database_itself_refuses_a_second_active_ticket_per_fault(
    store: Store, inventory: Inventory
) -> None:
    [ticket] = apply(store, inventory, START, firing=[alarm()]).opened
    duplicate = twin_of(ticket, START)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.insert_ticket(duplicate, START)
    # Once the first is closed, the fault may have a new ticket.
    with store.transaction() as tx:
        tx.update_ticket(ticket.id, {"status": TicketStatus.closed}, START)
        tx.insert_ticket(duplicate, START)
