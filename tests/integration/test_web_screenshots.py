"""Review screenshots of every console page, in Chinese and in English, at desktop and
phone width, on a real desk served on 127.0.0.1 (Debian's Chromium through Playwright).

Each page must answer 200, fit a phone's width without sideways scrolling, show Chinese
text in Chinese, and carry no Chinese UI chrome (main navigation, headings) in English.
The images go to test-artifacts/web/review/<page>-<lang>-<width>.png. Every check is
collected and the test fails at the end with all of them, so every image is produced.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI

from tests.desk.web.conftest import PASSWORD
from tests.integration.browser import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    ConsoleBrowser,
    console_browser,
    desk_server,
    log_in,
    log_out,
)
from tests.integration.console_world import (
    open_step,
    push_fault,
    submit_step,
    world,  # noqa: F401 - the desk, a fixture
)
from weibao.clock import FrozenClock

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REVIEW = ARTIFACTS / "review"
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def switch_language(page: Page, url: str, home: str, lang: str) -> None:
    """The account's language, through the layout's switch (as a person would), on
    ``home`` (the last page reviewed may have no switch: /docs)."""
    page.goto(f"{url}{home}")
    with page.expect_navigation():
        page.click(f".lang-switch button[value={lang}]")
    page.wait_for_load_state()


def review(
    browser: ConsoleBrowser,
    page: Page,
    url: str,
    name: str,
    path: str,
    lang: str,
    problems: list[str],
) -> None:
    """Open ``path`` at each width; check it; save a full-page screenshot."""
    for width_name, viewport in WIDTHS.items():
        page.set_viewport_size(dict(viewport))  # type: ignore[arg-type]
        answer = page.goto(f"{url}{path}")
        page.wait_for_load_state("networkidle")
        label = f"{name}-{lang}-{width_name} ({path})"
        if answer is None or answer.status != 200:
            problems.append(f"{label}: status {None if answer is None else answer.status}")
        if width_name == "phone":
            widths: Any = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if widths[0] > widths[1]:
                wide = page.evaluate(
                    """(client) => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > client + 1)
                        .slice(0, 5)
                        .map(e => e.tagName.toLowerCase()
                            + (e.className && typeof e.className === 'string'
                               ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                            + ' right=' + Math.round(e.getBoundingClientRect().right))""",
                    widths[1],
                )
                problems.append(
                    f"{label}: horizontal scroll, {widths[0]}px wide in {widths[1]}px; "
                    f"overflowing: {wide}"
                )
        if lang == "zh":
            text = page.locator("body").inner_text()
            if not HAN.search(text):
                problems.append(f"{label}: no Chinese characters in the visible text")
        else:
            chrome = {}
            nav = page.locator("nav.nav")
            if nav.count():
                chrome["nav"] = nav.first.inner_text()
            for i, h1 in enumerate(page.locator("h1").all()):
                chrome[f"h1[{i}]"] = h1.inner_text()
            han = {k: v for k, v in chrome.items() if HAN.search(v)}
            if han:
                problems.append(f"{label}: Chinese in the English chrome: {han}")
        REVIEW.mkdir(parents=True, exist_ok=True)
        browser.screenshot(page, f"review/{name}-{lang}-{width_name}")


def test_every_page_reviewed_in_both_languages_and_widths(
    world: tuple[FastAPI, str, FrozenClock],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    app, token, clock = world
    problems: list[str] = []
    with desk_server(app) as url, console_browser(tmp_path) as browser:
        opened: dict[str, list[str]] = {}
        for device in ("acme-db", "acme-core", "acme-branch-fw", "beta-his"):
            opened[device] = push_fault(url, token, device, clock)
        acme_tickets = [n for d in ("acme-db", "acme-core") for n in opened[d]]
        assert len(acme_tickets) >= 2, opened
        acked, resolved = acme_tickets[0], acme_tickets[1]

        page = browser.new_page(DESKTOP)

        # The login page, before anyone is signed in (the anonymous ?lang= switch).
        for lang in ("zh", "en"):
            review(browser, page, url, "login", f"/login?lang={lang}", lang, problems)

        # The engineer acknowledges one ticket and resolves another.
        log_in(page, url, "zhang", PASSWORD)
        page.goto(f"{url}/tickets/{acked}")
        submit_step(page, "ack")
        page.goto(f"{url}/tickets/{resolved}")
        submit_step(page, "ack")
        submit_step(page, "arrive")
        open_step(page, "resolve")
        page.fill("#resolve-diagnosis", "PSU 2 failed")
        page.fill("#resolve-cause", "age")
        page.fill("#resolve-actions", "replaced PSU 2")
        with page.expect_navigation():
            page.click(".step-resolve button[type=submit]")
        log_out(page)

        # The staff pages, as the manager (who sees everything).
        contract = "ACME-2026"
        staff_pages = [
            ("queue", "/queue?scope=all"),
            ("ticket", f"/tickets/{acked}"),
            ("ticket-resolved", f"/tickets/{resolved}"),
            ("dashboard", "/dashboard"),
            ("customer", f"/customers/{quote('Acme Bank')}"),
            ("contract", f"/contracts/{contract}"),
            ("site", f"/contracts/{contract}/sites/{quote('Acme HQ')}"),
            ("device", "/devices/acme-db"),
            ("docs", "/docs"),
        ]
        log_in(page, url, "wang", PASSWORD)
        for lang in ("zh", "en"):
            switch_language(page, url, "/queue", lang)
            for name, path in staff_pages:
                review(browser, page, url, name, path, lang, problems)
        page.goto(f"{url}/queue")  # /docs, reviewed last, has no console header
        log_out(page)

        # The customer's portal.
        log_in(page, url, "acme", PASSWORD)
        for lang in ("zh", "en"):
            switch_language(page, url, "/portal", lang)
            review(browser, page, url, "portal", "/portal", lang, problems)
            review(
                browser, page, url, "portal-ticket", f"/portal/tickets/{resolved}", lang, problems
            )
        log_out(page)

    assert not problems, "\n".join(problems)
