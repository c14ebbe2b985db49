"""What a customer may read of a ticket, decided in one place for the API and the portal.

An allowlist: event kinds and their data keys a customer sees; anything else (escalations,
technical referrals, RMA numbers, our staff's notes, the raw output of the device) stays
internal, so a new event kind stays hidden from customers until someone decides otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from desk.model import EventKind, Role
from desk.storage import EventRecord, Store
from desk.storage.tables import ApiTokenRow, UserRow

# What a customer may see of each kind, and which data keys; anything else is dropped.
CUSTOMER_KINDS: dict[str, frozenset[str]] = {
    EventKind.opened: frozenset({"level"}),
    EventKind.level_raised: frozenset({"from", "to"}),
    EventKind.recovered: frozenset({"observed_at"}),
    EventKind.recurred: frozenset(),
    EventKind.acknowledged: frozenset(),
    EventKind.arrived: frozenset(),
    EventKind.plan_submitted: frozenset({"plan"}),
    EventKind.part: frozenset({"part_number", "name", "quantity", "serial_out", "serial_in"}),
    EventKind.paused: frozenset({"reason"}),
    EventKind.resumed: frozenset(),
    EventKind.due_moved: frozenset({"clock", "due", "previous", "agreed_by"}),
    EventKind.resolved: frozenset({"diagnosis", "cause", "actions"}),
    EventKind.signed_off: frozenset({"name", "opinion", "satisfaction"}),
    EventKind.closed: frozenset(),
    EventKind.auto_closed: frozenset(),
    EventKind.reopened: frozenset(),
    EventKind.assigned: frozenset({"to"}),
    # "Part of the outage of WB-...": not the fingerprints of what was folded.
    EventKind.merged: frozenset({"how", "into", "root_device"}),
}


def customer_events(events: Iterable[EventRecord], own_people: set[str]) -> list[EventRecord]:
    """The events a customer may read, with only the data they may read.

    Notes are shown when one of the customer's own people wrote them: a note by our
    staff may be about us, not for them (the step has no visibility flag)."""
    shown = []
    for ev in events:
        if ev.kind == EventKind.note:
            if ev.actor in own_people:
                shown.append(ev)
            continue
        keys = CUSTOMER_KINDS.get(ev.kind)
        if keys is None:
            continue
        data = {k: v for k, v in ev.data.items() if k in keys}
        shown.append(EventRecord(ev.id, ev.ticket_id, ev.at, ev.kind, ev.actor, data))
    return shown


def customer_people(store: Store, customer: str) -> set[str]:
    """The names the customer's own people act under (console accounts and API tokens):
    whose notes a customer is shown; anyone else's note on a ticket is our staff's."""
    users = select(UserRow.display_name).where(
        UserRow.role == Role.customer.value, UserRow.customer == customer
    )
    tokens = select(ApiTokenRow.id, ApiTokenRow.name).where(
        ApiTokenRow.role == Role.customer.value, ApiTokenRow.customer == customer
    )
    with store.read_session() as session:
        names = {str(n) for n in session.scalars(users)}
        for token_id, name in session.execute(tokens):
            names.add(name or f"token #{token_id} ({Role.customer.value})")
    return names
