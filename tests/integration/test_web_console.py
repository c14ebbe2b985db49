"""The console in a real browser (Debian's Chromium through Playwright), on a real desk
served on 127.0.0.1: a fault pushed through the API becomes a ticket in the engineer's
queue, which the engineer works through the forms; the customer signs it off; nothing
is fetched from any other host; the queue fits a phone. Screenshots of each main page,
in Chinese and in English, go to test-artifacts/web/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

import rules
from desk.api import create_app
from desk.model import Role
from desk.storage import Store
from desk.tokens import issue_token
from desk.web.accounts import Accounts
from tests.desk.conftest import IMMEDIATE_RULES, START
from tests.desk.web.conftest import FAST_HASHER, PASSWORD
from tests.desk.web.page_fixtures import PAGE_INVENTORY
from tests.integration.browser import (
    PHONE,
    assert_no_horizontal_scroll,
    console_browser,
    desk_server,
    log_in,
    log_out,
)
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FastAPI, str, FrozenClock]]:
    """A desk with one account per role and an agent token; yields app, token, clock."""
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    inventory = Inventory.model_validate(PAGE_INVENTORY)
    accounts = Accounts(store, clock, hasher=FAST_HASHER)
    accounts.add("zhang", PASSWORD, Role.engineer, "张伟", engineer="Zhang Wei")
    accounts.add("wang", PASSWORD, Role.manager, "王丽")
    accounts.add("acme", PASSWORD, Role.customer, "Acme IT", customer="Acme Bank")
    accounts.add("beta", PASSWORD, Role.customer, "Beta IT", customer="Beta Hospital")
    token = issue_token(store, Role.agent, None, "browser test", clock.now()).token
    app = create_app(store, inventory, rules.load_engine(IMMEDIATE_RULES), clock)
    yield app, token, clock
    store.close()


def open_step(page: Page, name: str) -> None:
    """Unfold a step's form (the first one is unfolded already)."""
    page.locator(f"details.step-{name}").evaluate("details => { details.open = true; }")


def push_fault(url: str, token: str, device: str, clock: FrozenClock) -> None:
    answer = httpx.post(
        f"{url}/api/v1/observations",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "device": device,
            "source": "agent",
            "time": clock.now().isoformat(),
            "samples": [{"name": "up", "value": 0}],
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["tickets_opened"], answer.text


def test_a_fault_worked_through_the_console(
    world: tuple[FastAPI, str, FrozenClock], tmp_path: Path
) -> None:
    app, token, clock = world
    with desk_server(app) as url, console_browser(tmp_path) as browser:
        push_fault(url, token, "acme-db", clock)
        push_fault(url, token, "beta-his", clock)
        page = browser.new_page(PHONE)

        # The engineer's queue on a phone, in Chinese (the browser's language).
        log_in(page, url, "zhang", PASSWORD)
        assert page.url.endswith("/queue")
        card = page.locator(".ticket-card").first
        number = card.get_attribute("data-number")
        assert number is not None
        assert page.locator(".ticket-card").count() == 1  # mine: Beta's is not at my site
        assert "II级" in card.inner_text() or "I级" in card.inner_text()
        countdown = card.locator("time.countdown").inner_text()
        assert "剩余" in countdown  # filled in by console.js from the desk's own clock
        assert_no_horizontal_scroll(page)
        browser.screenshot(page, "queue-phone-zh")

        # The ticket: acknowledge, and the response clock stops.
        card.locator("a.ticket-link").click()
        page.wait_for_url(f"**/tickets/{number}")
        assert_no_horizontal_scroll(page)
        browser.screenshot(page, "ticket-phone-zh")
        with page.expect_navigation():
            page.click(".step-ack button[type=submit]")
        response = page.locator('tr[data-clock="response"]')
        assert "已完成" in response.inner_text()
        assert response.locator("time.countdown").count() == 0

        open_step(page, "arrive")
        with page.expect_navigation():
            page.click(".step-arrive button[type=submit]")
        open_step(page, "part")
        page.fill("#part-number", "0231A0L9")
        page.fill("#part-name", "PSU 650W")
        page.uncheck(".step-part input[name=from_stock]")
        page.fill("#part-in", "SN-NEW-1")
        with page.expect_navigation():
            page.click(".step-part button[type=submit]")
        assert page.locator(".flash-ok").count() == 1
        open_step(page, "resolve")
        page.fill("#resolve-diagnosis", "PSU 2 failed")
        page.fill("#resolve-cause", "age")
        page.fill("#resolve-actions", "replaced PSU 2")
        with page.expect_navigation():
            page.click(".step-resolve button[type=submit]")
        assert "已解决" in page.locator(".ticket-header").inner_text()
        page.set_viewport_size({"width": 1280, "height": 900})
        browser.screenshot(page, "ticket-resolved-zh")

        # The same pages in English.
        page.click(".lang-switch button[value=en]")
        page.wait_for_load_state()
        assert "Resolved" in page.content() or "resolved" in page.content()
        browser.screenshot(page, "ticket-resolved-en")
        page.goto(f"{url}/queue?scope=all")
        browser.screenshot(page, "queue-desktop-en")
        log_out(page)

        # The manager's dashboard, both languages.
        log_in(page, url, "wang", PASSWORD)
        page.goto(f"{url}/dashboard")
        browser.screenshot(page, "dashboard-zh")
        page.goto(f"{url}/devices/acme-db")
        browser.screenshot(page, "device-zh")
        page.click(".lang-switch button[value=en]")
        page.wait_for_load_state()
        page.goto(f"{url}/dashboard")
        assert "Coverage" in page.content()
        browser.screenshot(page, "dashboard-en")
        log_out(page)

        # The customer signs off with a rating.
        page.set_viewport_size(PHONE)
        log_in(page, url, "acme", PASSWORD)
        assert page.url.endswith("/portal")
        browser.screenshot(page, "portal-phone-zh")
        page.goto(f"{url}/portal/tickets/{number}")
        assert "RMA" not in page.content()
        page.check(".step-signoff input[name=satisfaction][value='5']")
        page.fill("#signoff-opinion", "很快")
        with page.expect_navigation():
            page.click(".step-signoff button[type=submit]")
        assert page.locator(".flash-ok").count() == 1
        assert page.locator(".step-signoff").count() == 0
        assert_no_horizontal_scroll(page)
        browser.screenshot(page, "portal-ticket-phone-zh")

        # Guessing another customer's ticket or report URL gets nothing.
        other = page.goto(f"{url}/portal/tickets/WB-2026-000002")
        assert other is not None and other.status == 404
        staff = page.goto(f"{url}/tickets/WB-2026-000002")
        assert staff is not None and staff.status == 404
        report = page.goto(
            f"{url}/api/v1/reports/inspection?customer=Beta+Hospital&period=2026-02&format=pdf"
        )
        assert report is not None and report.status in (401, 403, 404)
        queue = page.goto(f"{url}/queue")
        assert queue is not None and queue.status == 403
        page.click(".lang-switch button[value=en]")
        page.wait_for_load_state()
        page.goto(f"{url}/portal/tickets/{number}")
        browser.screenshot(page, "portal-ticket-phone-en")

    assert all(r.startswith("http://127.0.0.1") for r in browser.requests)
