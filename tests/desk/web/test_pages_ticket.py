"""The ticket page: what it shows, the step forms it offers (only those allowed now),
posting a step, refusals, CSRF, and the device's facts and observations."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from desk.model import EventKind, TicketStatus
from desk.storage import Store
from weibao.clock import FrozenClock
from weibao.levels import Level

from ..asgi import AsgiClient
from ..conftest import START
from .conftest import Users, csrf_of, login
from .page_fixtures import Desk, desk_fixture, inventory_fixture, login_as  # noqa: F401

_FORMS = re.compile(r'action="/tickets/[^/"]+/steps/([a-z]+)"')


def step_forms(html: str) -> list[str]:
    return _FORMS.findall(html)


def post_step(
    client: AsgiClient, number: str, step: str, page: httpx.Response, **fields: str
) -> httpx.Response:
    return client.post(
        f"/tickets/{number}/steps/{step}", data={"csrf_token": csrf_of(page), **fields}
    )


def test_the_page_shows_the_ticket_the_device_and_what_to_check(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db", Level.II)
    login(client, users.engineer)
    html = client.get(f"/tickets/{ticket.number}", headers={"Accept-Language": "en"}).text
    assert ticket.title in html
    assert "SN-ACME-DB-1" in html and "2027-06-30" in html  # serial, warranty
    assert "1 Bank Road, Shanghai" in html  # the site's address
    assert "Chen Jing" in html  # the customer's contact
    assert "Check the uplink cable first." in html  # the rule's knowledge
    # Times in the site's zone: detected 08:00 UTC is 16:00 in Shanghai.
    assert "2026-03-02 16:00" in html


def test_times_follow_the_sites_time_zone(client: AsgiClient, users: Users, desk: Desk) -> None:
    ticket = desk.open("acme-branch-fw")  # Asia/Urumqi: UTC+6
    login(client, users.manager)
    html = client.get(f"/tickets/{ticket.number}").text
    assert "2026-03-02 14:00" in html and "Asia/Urumqi" in html


def test_forms_are_the_steps_allowed_now(client: AsgiClient, users: Users, desk: Desk) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    forms = step_forms(client.get(f"/tickets/{ticket.number}").text)
    assert forms[:3] == ["ack", "arrive", "plan"]
    assert "pause" in forms  # the contract has pause reasons
    assert "resume" not in forms  # nothing is paused
    assert "resolve" not in forms and "close" not in forms and "signoff" not in forms
    assert "due" not in forms  # managers only
    login_as(client, users.manager)
    assert "due" in step_forms(client.get(f"/tickets/{ticket.number}").text)


def test_pause_is_not_offered_without_the_contracts_reasons(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    ticket = desk.open("beta-his")  # Beta's contract has no pause reasons
    login(client, users.engineer)
    assert "pause" not in step_forms(client.get(f"/tickets/{ticket.number}").text)


def test_acknowledging_stops_the_response_clock(
    client: AsgiClient, users: Users, desk: Desk, store: Store, clock: FrozenClock
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    clock.advance(timedelta(minutes=6))
    page = client.get(f"/tickets/{ticket.number}")
    done = post_step(client, ticket.number, "ack", page, note="on my way")
    assert done.status_code == 303
    assert done.headers["location"] == f"/tickets/{ticket.number}"
    after = client.get(done.headers["location"], headers={"Accept-Language": "en"})
    assert store.get_ticket(ticket.number).status is TicketStatus.acknowledged  # type: ignore[union-attr]
    assert "Acknowledge: done." in after.text or "确认" in after.text
    response_row = after.text[after.text.index('data-clock="response"') :]
    response_row = response_row[: response_row.index("</tr>")]
    assert "met 03-02 16:06" in response_row or "03-02 16:06" in response_row
    assert "ack" not in step_forms(after.text)
    # The outcome is shown once.
    again = client.get(f"/tickets/{ticket.number}")
    assert 'class="flash' not in again.text


def test_a_whole_repair_through_the_forms(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)

    def step(step_name: str, **fields: str) -> httpx.Response:
        page = client.get(f"/tickets/{ticket.number}")
        answer = post_step(client, ticket.number, step_name, page, **fields)
        assert answer.status_code == 303
        return client.get(answer.headers["location"], headers={"Accept-Language": "en"})

    step("arrive")
    page = step(
        "part",
        part_number="0231A0L9",
        name="PSU 650W",
        serial_out="SN-OLD",
        serial_in="SN-NEW",
    )
    assert "refused" not in page.text  # from_stock unchecked: not from the stock
    page = step("resolve", diagnosis="PSU 2 failed", cause="age", actions="replaced PSU 2")
    assert store.get_ticket(ticket.number).status is TicketStatus.resolved  # type: ignore[union-attr]
    assert "PSU 2 failed" in page.text and "SN-NEW" in page.text
    assert set(step_forms(page.text)) >= {"signoff", "close", "reopen"}
    page = step("signoff", name="Chen Jing", satisfaction="5", opinion="fast")
    page = step("close")
    assert store.get_ticket(ticket.number).status is TicketStatus.closed  # type: ignore[union-attr]
    assert "followup" in step_forms(page.text)


def test_a_part_from_stock_that_is_not_stocked_is_refused_with_the_reason(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    page = client.get(f"/tickets/{ticket.number}")
    post_step(client, ticket.number, "ack", page)
    answer = post_step(client, ticket.number, "part", page, part_number="NOPE", from_stock="1")
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"], headers={"Accept-Language": "en"}).text
    assert "is not in the spare-part stock" in shown
    assert 'class="flash alert"' in shown


def test_a_step_not_possible_now_shows_the_workflows_message(
    client: AsgiClient, users: Users, desk: Desk
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    page = client.get(f"/tickets/{ticket.number}")
    answer = post_step(client, ticket.number, "close", page, reason="x")
    shown = client.get(answer.headers["location"]).text
    assert "close is not possible now" in shown


def test_a_form_missing_a_field_says_which(client: AsgiClient, users: Users, desk: Desk) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    page = client.get(f"/tickets/{ticket.number}")
    post_step(client, ticket.number, "ack", page)
    answer = post_step(client, ticket.number, "resolve", page, diagnosis="x")
    shown = client.get(answer.headers["location"], headers={"Accept-Language": "en"}).text
    assert "actions, cause" in shown


def test_a_step_without_the_csrf_token_is_refused(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    answer = client.post(f"/tickets/{ticket.number}/steps/ack", data={})
    assert answer.status_code == 403
    wrong = client.post(f"/tickets/{ticket.number}/steps/ack", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    assert store.get_ticket(ticket.number).status is TicketStatus.open  # type: ignore[union-attr]


def test_pause_and_resume_with_the_contracts_reasons(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.engineer)
    page = client.get(f"/tickets/{ticket.number}")
    assert "customer access window" in page.text and "vendor part" in page.text
    post_step(client, ticket.number, "pause", page, reason="vendor part")
    page = client.get(f"/tickets/{ticket.number}")
    forms = step_forms(page.text)
    assert "resume" in forms and "pause" not in forms
    post_step(client, ticket.number, "resume", page)
    kinds = [e.kind for e in store.ticket_events(ticket.id)]
    assert kinds[-2:] == [EventKind.paused, EventKind.resumed]


def test_a_manager_moves_a_due_time_in_the_sites_time(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    ticket = desk.open("acme-db")
    login(client, users.manager)
    page = client.get(f"/tickets/{ticket.number}")
    answer = post_step(
        client,
        ticket.number,
        "due",
        page,
        clock="resolve",
        due="2026-03-04T18:00",
        reason="customer asks for the weekend",
        agreed_by="Chen Jing",
    )
    assert answer.status_code == 303
    moved = [e for e in store.ticket_events(ticket.id) if e.kind == EventKind.due_moved]
    # Typed in the site's time (UTC+8), stored in UTC like every other time.
    assert moved and moved[0].data["due"] == "2026-03-04T10:00:00+00:00"


def test_the_firing_sample_trends_raw_output_and_similar_tickets(
    client: AsgiClient, users: Users, desk: Desk, store: Store, clock: FrozenClock
) -> None:
    from desk.storage.tables import ObservationRow, TicketRow

    with store.write_session() as session:
        for i in range(4):
            session.add(
                ObservationRow(
                    id=f"obs-{i}",
                    device="acme-db",
                    source="agent",
                    time=clock.now() - timedelta(minutes=4 - i),
                    received_at=clock.now(),
                    ok=True,
                    error=None,
                    samples=[{"name": "cpu_usage_ratio", "labels": {}, "value": 0.2 * i}],
                    meta={},
                    known_device=True,
                )
            )
    old = desk.open("acme-db", rule="cpu_high", title="acme-db CPU high")
    with store.write_session() as session:
        row = session.get(TicketRow, old.id)
        assert row is not None
        row.status = "closed"
        row.closed_at = clock.now()
    ticket = desk.open("acme-db", rule="device_unreachable")
    with store.write_session() as session:
        row = session.get(TicketRow, ticket.id)
        assert row is not None
        row.snapshot = {
            "observation": {
                "time": clock.now().isoformat(),
                "source": "agent",
                "ok": True,
                "samples": [{"name": "cpu_usage_ratio", "labels": {}, "value": 0.6}],
            },
            "raw": {
                "time": clock.now().isoformat(),
                "source": "ssh",
                "outputs": {"uptime": "up 3 days"},
            },
        }
    login(client, users.engineer)
    html = client.get(f"/tickets/{ticket.number}").text
    assert "cpu_usage_ratio = 0.6" in html  # the firing sample
    assert "<polyline" in html  # its trend over the latest observations
    assert "up 3 days" in html  # what the device answered
    assert old.number in html  # a similar ticket on the same device


def test_an_unknown_ticket_is_a_page_not_found(client: AsgiClient, users: Users) -> None:
    login(client, users.engineer)
    answer = client.get("/tickets/WB-2026-999999")
    assert answer.status_code == 404
    assert "<html" in answer.text


def test_the_series_the_rule_fired_on_come_first_and_rounded() -> None:
    from desk.model import EventKind
    from desk.storage import EventRecord
    from desk.web.views.ticket import firing_keys, observed

    ports = [
        {"name": "interface_up", "labels": {"ifName": f"GE1/0/{i}"}, "value": float(i != 25)}
        for i in range(1, 53)
    ]
    ports.append({"name": "cpu_usage_ratio", "labels": {}, "value": 0.18000030517578125})
    opened = EventRecord(
        1, 1, START, EventKind.opened, "weibao", {"samples": [ports[24]], "level": "II"}
    )
    keys = firing_keys([opened])
    assert keys == ['interface_up{ifName="GE1/0/25"}']
    shown = observed({"time": START.isoformat(), "samples": ports}, "Asia/Shanghai", first=keys)
    assert shown.samples[0] == 'interface_up{ifName="GE1/0/25"} = 0'
    everything = observed({"samples": ports}, "UTC", limit=100).samples
    assert "cpu_usage_ratio = 0.18" in everything


def test_an_advisory_page_runs_no_clock_and_a_level_iv_one_says_plan(
    client: AsgiClient, users: Users, desk: Desk, store: Store
) -> None:
    from desk.tickets import apply_alarms

    from .page_fixtures import alarm

    fired = alarm(
        "acme-db",
        Level.IV,
        "warranty_ending",
        desk.clock.now(),
        {"category": "advisory", "audience": "management"},
        "acme-db: warranty ended 69 days ago (2025-12-23)",
    )
    with store.transaction() as tx:
        [advisory] = apply_alarms(
            tx, [fired], [], desk.inventory.device_index(), desk.clock.now()
        ).opened
    level_iv = desk.open("acme-core", level=Level.IV, rule="config_advice")
    login(client, users.manager)
    html = client.get(f"/tickets/{advisory.number}").text
    assert "不计 SLA 时限" in html and 'class="clocks"' not in html  # the page speaks Chinese
    assert "warranty ended 69 days ago" in html
    page = client.get(f"/tickets/{level_iv.number}").text
    assert 'data-clock="plan"' in page and '<option value="plan">方案提交</option>' in page
