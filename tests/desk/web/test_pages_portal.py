"""The customer portal: own tickets only, nothing internal, sign-off with a rating, and
404/403 for everything else."""

from __future__ import annotations

import httpx

from desk.model import EventKind, TicketStatus
from desk.storage import Store
from desk.storage.tables import PartUseRow, TicketRow
from weibao.levels import Level

from ..asgi import AsgiClient
from .conftest import Users, csrf_of, login
from .page_fixtures import Desk, desk_fixture, inventory_fixture, login_as  # noqa: F401


def test_the_portal_lists_the_customers_own_tickets_only(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    mine = desk.open("acme-db")
    theirs = desk.open("beta-his")
    ours = desk.open("acme-core", rule="agent_silent", internal=True)
    login(client, users.customer)
    html = client.get("/portal").text
    assert mine.number in html
    assert theirs.number not in html
    assert ours.number not in html


def test_another_customers_ticket_is_not_found_on_both_urls(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    theirs = desk.open("beta-his")
    ours = desk.open("acme-core", rule="agent_silent", internal=True)
    login(client, users.customer)
    for number in (theirs.number, ours.number, "WB-2026-999999"):
        assert client.get(f"/portal/tickets/{number}").status_code == 404
        assert client.get(f"/tickets/{number}").status_code == 404


def test_a_customer_on_the_staff_url_of_their_ticket_goes_to_the_portal(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    mine = desk.open("acme-db")
    login(client, users.customer)
    answer = client.get(f"/tickets/{mine.number}")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/portal/tickets/{mine.number}"


def test_staff_pages_are_forbidden_to_customers(client: AsgiClient, users: Users) -> None:
    login(client, users.customer)
    for path in (
        "/queue",
        "/dashboard",
        "/customers/Acme Bank",
        "/contracts/ACME-2026",
        "/devices/acme-db",
    ):
        assert client.get(path).status_code == 403, path


def test_staff_may_not_open_the_portal(client: AsgiClient, users: Users) -> None:
    login(client, users.engineer)
    assert client.get("/portal").status_code == 403


def test_nothing_internal_on_the_portal_ticket_page(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db")
    desk.escalate(ticket, "response", "warning")
    desk.event(ticket, EventKind.acknowledged, "Zhang Wei", note="STAFF-ACK-NOTE")
    desk.event(ticket, EventKind.note, "Zhang Wei", text="STAFF-ONLY-NOTE")
    desk.event(ticket, EventKind.note, "Acme IT", text="CUSTOMER-NOTE")
    desk.event(ticket, EventKind.referred, "Zhang Wei", referred_to="vendor", to="H3C-CASE-9")
    desk.event(
        ticket,
        EventKind.part,
        "Zhang Wei",
        part_number="P1",
        name="PSU",
        quantity=1,
        serial_in="SN-IN",
        rma_number="RMA-7731",
    )
    with store.write_session() as session:
        session.add(
            PartUseRow(
                ticket_id=ticket.id,
                device="acme-db",
                at=ticket.detected_at,
                actor="Zhang Wei",
                part_number="P1",
                name="PSU",
                quantity=1,
                from_stock=False,
                serial_out=None,
                serial_in="SN-IN",
                rma_number="RMA-7731",
                rma_status="open",
            )
        )
        row = session.get(TicketRow, ticket.id)
        assert row is not None
        row.snapshot = {
            "raw": {
                "time": ticket.detected_at.isoformat(),
                "source": "ssh",
                "outputs": {"show run": "RAW-CONFIG snmp community s3cret"},
            },
        }
    login(client, users.customer)
    html = client.get(f"/portal/tickets/{ticket.number}", headers={"Accept-Language": "en"}).text
    assert ticket.title in html
    assert "CUSTOMER-NOTE" in html  # their own note
    assert "SN-IN" in html  # the part they got
    for secret in (
        "STAFF-ACK-NOTE",
        "STAFF-ONLY-NOTE",
        "H3C-CASE-9",
        "RMA-7731",
        "RAW-CONFIG",
        "s3cret",
        "escalated",
        "manager notified",
        "Check the uplink cable first.",  # our knowledge base
    ):
        assert secret not in html, secret


def sign_off(client: AsgiClient, number: str, **fields: str) -> httpx.Response:
    page = client.get(f"/portal/tickets/{number}")
    return client.post(
        f"/tickets/{number}/steps/signoff", data={"csrf_token": csrf_of(page), **fields}
    )


def test_the_customer_signs_off_with_a_rating(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db", Level.III)
    with store.write_session() as session:
        row = session.get(TicketRow, ticket.id)
        assert row is not None
        row.status = TicketStatus.resolved.value
    login(client, users.customer)
    page = client.get(f"/portal/tickets/{ticket.number}")
    assert f'action="/tickets/{ticket.number}/steps/signoff"' in page.text
    assert 'name="satisfaction" value="5"' in page.text
    assert "/steps/close" not in page.text and "/steps/ack" not in page.text
    answer = sign_off(client, ticket.number, name="Acme IT", satisfaction="4", opinion="quick")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/portal/tickets/{ticket.number}"
    after = client.get(answer.headers["location"])
    assert "/steps/signoff" not in after.text  # signed off once
    signed = [e for e in store.ticket_events(ticket.id) if e.kind == EventKind.signed_off]
    assert signed and signed[0].data["satisfaction"] == 4 and signed[0].actor == "Acme IT"


def test_a_customer_cannot_take_a_staff_step(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.customer)
    page = client.get(f"/portal/tickets/{ticket.number}")
    answer = client.post(f"/tickets/{ticket.number}/steps/ack", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    assert store.get_ticket(ticket.number).status is TicketStatus.open  # type: ignore[union-attr]
    assert "may only sign off or add notes" in client.get(answer.headers["location"]).text


def test_a_customer_cannot_step_on_another_customers_ticket(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    theirs = desk.open("beta-his")
    mine = desk.open("acme-db")
    login(client, users.customer)
    page = client.get(f"/portal/tickets/{mine.number}")
    answer = client.post(
        f"/tickets/{theirs.number}/steps/note",
        data={"csrf_token": csrf_of(page), "text": "hello"},
    )
    assert answer.status_code == 404
    assert [e.kind for e in store.ticket_events(theirs.id)] == [EventKind.opened]


def test_report_links_are_the_customers_own(client: AsgiClient, users: Users) -> None:
    login(client, users.customer)
    html = client.get("/portal/reports").text
    assert "/api/v1/reports/inspection?customer=Acme+Bank&amp;period=2026-02&amp;format=pdf" in html
    assert "/api/v1/reports/quarterly?customer=Acme+Bank&amp;period=2025-Q4&amp;format=pdf" in html
    assert "Beta" not in html
