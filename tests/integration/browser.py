"""A real browser for the console's tests: Playwright driving Debian's Chromium.

- The browser is ``/usr/bin/chromium``; Playwright never downloads one
  (``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1``). Missing, the test is skipped on a
  workstation and fails under ``CI=true`` (:func:`tests.peers.require_peer`).
- Headless, with a fresh profile, and with Chromium's own background traffic (updates,
  sync, QUIC) switched off, so everything it fetches is what the page asked for.
- Every request is recorded; one to any host but 127.0.0.1 is aborted and listed in
  :attr:`ConsoleBrowser.foreign`, which :func:`console_browser` asserts empty at the
  end: a page that needs a CDN fails its test, as it would fail in a customer's
  network without Internet access.
- Screenshots go to ``test-artifacts/web/`` at the repository's root (gitignored).

Use::

    with desk_server(app) as url, console_browser(tmp_path) as browser:
        page = browser.new_page(PHONE)
        log_in(page, url, "zhang", PASSWORD)
        browser.screenshot(page, "queue-phone")
        assert_no_horizontal_scroll(page)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from desk.server import DeskServer
from tests.peers import require_peer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route
    from playwright.sync_api import Request as BrowserRequest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ALLOWED_HOST = "127.0.0.1"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-domain-reliability",
]
TIMEOUT_MS = 15_000


@dataclass
class ConsoleBrowser:
    """One headless Chromium profile; pages share its cookies."""

    context: BrowserContext
    requests: list[str] = field(default_factory=list)
    """Every URL the pages asked for, in order."""
    foreign: list[str] = field(default_factory=list)
    """URLs on other hosts: aborted, and a failure of the test."""

    def new_page(self, viewport: dict[str, int] | None = None) -> Page:
        page = self.context.new_page()
        page.set_viewport_size(dict(viewport or DESKTOP))  # type: ignore[arg-type]
        page.set_default_timeout(TIMEOUT_MS)
        return page

    def screenshot(self, page: Page, name: str, full_page: bool = True) -> Path:
        """Save ``test-artifacts/web/<name>.png`` and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    def _route(self, route: Route, request: BrowserRequest) -> None:
        url = request.url
        self.requests.append(url)
        if urlsplit(url).hostname != ALLOWED_HOST:
            self.foreign.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()


@contextmanager
def console_browser(profile_dir: Path) -> Iterator[ConsoleBrowser]:
    """Chromium with a fresh profile in ``profile_dir`` (e.g. pytest's tmp_path).
    Fails the test afterwards if any page reached for another host."""
    executable = require_peer(CHROMIUM, "the console's browser tests drive Debian's chromium")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    from playwright.sync_api import sync_playwright

    profile = profile_dir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=60_000,
            locale="zh-CN",
            service_workers="block",
        )
        browser = ConsoleBrowser(context)
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", browser._route)
            yield browser
        finally:
            context.close()
        assert browser.foreign == [], f"pages reached other hosts: {browser.foreign}"


@contextmanager
def desk_server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1, a free port, in a thread; yields its URL."""
    server = DeskServer(app, "127.0.0.1", 0)
    url = server.start(timeout=15)
    try:
        yield url
    finally:
        server.stop(timeout=15)


def log_in(page: Page, base_url: str, username: str, password: str, lang: str = "") -> None:
    """Fill in and submit the real login form; waits for the page after it."""
    query = f"?lang={lang}" if lang else ""
    page.goto(f"{base_url}/login{query}")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit].primary")


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.click("form[action='/logout'] button")


def assert_no_horizontal_scroll(page: Page) -> None:
    """The page fits its viewport's width: nothing makes a phone scroll sideways."""
    widths: Any = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    scroll, client = widths
    assert scroll <= client, f"the page is {scroll}px wide in a {client}px viewport"
