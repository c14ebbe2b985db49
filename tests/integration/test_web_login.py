"""The console's login in a real browser (Chromium over a real desk on 127.0.0.1):
log in through the form in Chinese and English, see the layout, switch language, log
out; the wrong-password message; /docs and /redoc working with no Internet. Every
request must stay on 127.0.0.1 (tests/integration/browser.py). Screenshots land in
test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

import rules
from desk.api import create_app
from desk.model import Role
from desk.storage import Store
from desk.web.accounts import Accounts
from desk.web.context import WebUser
from desk.web.session import user_required
from desk.web.templating import Pages
from tests.integration.browser import (
    DESKTOP,
    PHONE,
    assert_no_horizontal_scroll,
    console_browser,
    desk_server,
    log_in,
    log_out,
)
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
INVENTORY = {
    "customers": [
        {
            "name": "Acme Bank",
            "contracts": [
                {
                    "id": "ACME-2026",
                    "name": "Acme maintenance",
                    "start": "2026-01-01",
                    "end": "2026-12-31",
                    "service_manager": {"name": "Wang Li", "email": "wang@example.com"},
                    "sites": [
                        {
                            "name": "Acme HQ",
                            "hq": True,
                            "engineers": [{"name": "Zhang Wei"}],
                            "devices": [{"name": "acme-core", "kind": "switch"}],
                        }
                    ],
                }
            ],
        }
    ]
}
# A page of the layout that does not depend on the console's other pages.
PROBE = """{% extends "base.html" %}
{% block title %}Probe{% endblock %}
{% block content %}<section class="card"><h1 id="probe">{{ user.display_name }}</h1>
<p><span class="level level-I">{{ level_label("I") }}</span>
<span class="level level-III">{{ level_label("III") }}</span>
<span class="risk-warn">80%</span> <span class="risk-breach">-1h</span></p>
<p>{{ now|local("Asia/Shanghai") }}</p></section>{% endblock %}
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts = Accounts(store, clock, hasher=cheap)
    accounts.add("zhang", PASSWORD, Role.engineer, "张伟", engineer="Zhang Wei")
    accounts.add("acme", PASSWORD, Role.customer, "Acme IT", customer="Acme Bank")
    app = create_app(store, Inventory.model_validate(INVENTORY), rules.load_engine(None), clock)
    pages = Pages(clock)
    anyone = Depends(user_required(store, clock))

    @app.get("/probe", include_in_schema=False)
    def probe(request: Request, user: WebUser = anyone) -> HTMLResponse:
        return HTMLResponse(pages.render_string(request, user, PROBE))

    yield app
    store.close()


def test_log_in_see_the_layout_switch_language_and_log_out(app: FastAPI, tmp_path: Path) -> None:
    with desk_server(app) as url, console_browser(tmp_path) as browser:
        page = browser.new_page(PHONE)
        page.goto(f"{url}/login?next=/probe")
        assert page.locator("label[for=username]").inner_text() == "用户名"
        assert page.title().startswith("登录")
        assert_no_horizontal_scroll(page)
        browser.screenshot(page, "login-zh-phone")

        page.fill("#username", "zhang")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert page.url == f"{url}/probe"
        assert page.locator("#probe").inner_text() == "张伟"
        assert page.locator(".who").inner_text() == "张伟"
        assert page.locator("nav.nav a").all_inner_texts() == ["队列"]
        assert page.locator(".level-I").inner_text() == "I级"
        assert page.locator("text=2026-03-02 16:00").count() == 1
        assert_no_horizontal_scroll(page)
        browser.screenshot(page, "layout-zh-phone")

        # The language switch keeps the page and is remembered for the person.
        with page.expect_navigation():
            page.click(".lang-switch button[value=en]")
        assert page.url == f"{url}/probe"
        assert page.locator("nav.nav a").all_inner_texts() == ["Queue"]
        assert page.locator(".level-I").inner_text() == "Level I"
        page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
        browser.screenshot(page, "layout-en-desktop")
        page.goto(f"{url}/probe")
        assert page.locator("button[form], form[action='/logout'] button").inner_text() == "Log out"

        log_out(page)
        assert page.url == f"{url}/login"
        page.goto(f"{url}/probe")
        assert page.url.startswith(f"{url}/login?next=/probe")


def test_english_login_and_the_wrong_password_message(app: FastAPI, tmp_path: Path) -> None:
    with desk_server(app) as url, console_browser(tmp_path) as browser:
        page = browser.new_page(DESKTOP)
        page.goto(f"{url}/login?lang=en")
        assert page.locator("h1").inner_text() == "Log in to the service desk"
        browser.screenshot(page, "login-en-desktop")

        page.fill("#username", "zhang")
        page.fill("#password", "not the password")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert page.locator("[role=alert]").inner_text() == "Wrong user name or password."
        assert page.locator("#username").input_value() == "zhang"
        assert page.locator("#password").input_value() == ""
        browser.screenshot(page, "login-en-wrong-password")

        page.goto(f"{url}/login?lang=zh")
        page.fill("#username", "nobody")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert page.locator("[role=alert]").inner_text() == "用户名或密码错误。"

        # A customer lands on the portal (whatever the portal page shows by now).
        log_in(page, url, "acme", PASSWORD, lang="en")
        assert page.url == f"{url}/portal"


def test_api_docs_work_without_the_internet(app: FastAPI, tmp_path: Path) -> None:
    with desk_server(app) as url, console_browser(tmp_path) as browser:
        page = browser.new_page(DESKTOP)
        page.goto(f"{url}/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "weibao desk" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector("[data-path='/api/v1/observations']")
        browser.screenshot(page, "docs-swagger", full_page=False)

        page.goto(f"{url}/redoc")
        page.wait_for_selector("h1:has-text('weibao desk')")
        browser.screenshot(page, "docs-redoc", full_page=False)
        assert any(r.endswith("/static/vendor/redoc/redoc.standalone.js") for r in browser.requests)
