"""The console in a real browser (Debian's Chromium through Playwright), on a real desk
served on 127.0.0.1: a fault pushed through the API becomes a ticket in the engineer's
queue, which the engineer works through the forms; the customer signs it off; nothing
is fetched from any other host; the queue fits a phone. Screenshots of each main page,
in Chinese and in English, go to test-artifacts/web/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI

from tests.desk.web.conftest import PASSWORD
from tests.integration.browser import (
    PHONE,
    assert_no_horizontal_scroll,
    console_browser,
    desk_server,
    log_in,
    log_out,
)
from tests.integration.console_world import (
    open_step,
    push_fault,
    world,  # noqa: F401 - the desk, a fixture
)
from weibao.clock import FrozenClock

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.timeout(120)


def test_a_fault_worked_through_the_console(
    world: tuple[FastAPI, str, FrozenClock],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    app, token, clock = world
    with desk_server(app) as url, console_browser(tmp_path) as browser:
        assert push_fault(url, token, "acme-db", clock)
        assert push_fault(url, token, "beta-his", clock)
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
