"""Logging in through the desk's app: the form and its CSRF cookie, sessions and their
expiry, logout, roles, CSRF on every POST, cookie flags, languages, and pages that
load nothing from another site."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import PlainTextResponse

from desk.model import Role
from desk.storage import Store
from desk.storage.accounts import AccountStore
from desk.web.accounts import Accounts
from desk.web.context import WebUser
from desk.web.session import csrf_required, user_required
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.levels import Level

from ..asgi import AsgiClient
from .conftest import PASSWORD, Users, csrf_of, login, session_cookie, session_csrf

STAFF = frozenset({Role.engineer, Role.manager})


@pytest.fixture
def app(store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock) -> FastAPI:
    """The desk plus two probe routes guarded the way the pages guard theirs."""
    from desk.api import create_app

    app = create_app(store, inventory, engine, clock)
    staff = Depends(user_required(store, clock, STAFF))
    anyone = Depends(user_required(store, clock))
    customers = Depends(user_required(store, clock, frozenset({Role.customer})))
    csrf = Depends(csrf_required(store, clock))

    @app.get("/probe/staff")
    def staff_page(user: WebUser = staff) -> PlainTextResponse:
        return PlainTextResponse(f"{user.username} {user.role.value} {user.customer}")

    @app.get("/probe/customer")
    def customer_page(user: WebUser = customers) -> PlainTextResponse:
        return PlainTextResponse(user.username)

    @app.get("/probe/me")
    def me(user: WebUser = anyone) -> PlainTextResponse:
        return PlainTextResponse(
            f"{user.username}|{user.customer}|{user.engineer}|{user.language}|"
            f"{user.may_see('Acme Bank')}|{user.may_see('Beta Hospital')}"
        )

    @app.post("/probe/form")
    def form(
        request: Request, note: str = Form(""), user: WebUser = anyone, _: None = csrf
    ) -> PlainTextResponse:
        return PlainTextResponse(f"saved {note!r} for {user.username}")

    return app


def cookie_header(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


# --- logging in -----------------------------------------------------------------------


def test_login_sets_a_session_and_goes_to_the_start_page(
    client: AsgiClient, users: Users, store: Store
) -> None:
    answer = login(client, users.engineer)
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    token = session_cookie(client)
    assert token
    # Only the hash is stored: the cookie's value is nowhere in the database.
    assert token.encode() not in Path(str(store.url.database)).read_bytes()
    assert client.get("/probe/staff").text == "zhang engineer None"
    assert client.get("/").headers["location"] == "/queue"


def test_each_role_has_its_start_page(client: AsgiClient, users: Users) -> None:
    assert login(client, users.manager).headers["location"] == "/queue"
    client._client.cookies.clear()
    assert login(client, users.customer).headers["location"] == "/portal"


def test_login_returns_to_the_page_asked_for_but_never_off_site(
    client: AsgiClient, users: Users
) -> None:
    first = client.get("/probe/staff?x=1")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/probe/staff%3Fx%3D1"
    assert (
        login(client, users.engineer, next_path="/probe/staff?x=1").headers["location"]
        == "/probe/staff?x=1"
    )
    client._client.cookies.clear()
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert login(client, users.engineer, next_path=evil).headers["location"] == "/queue"
        client._client.cookies.clear()


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    client: AsgiClient, users: Users
) -> None:
    en = {"Accept-Language": "en"}
    wrong = login(client, users.engineer, "not the password", headers=en)
    unknown = login(client, "nobody", PASSWORD, headers=en)
    assert wrong.status_code == unknown.status_code == 401
    assert alert(wrong) == alert(unknown) == "Wrong user name or password."
    assert session_cookie(client) is None
    zh = login(client, "nobody", PASSWORD, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert alert(zh) == "用户名或密码错误。"
    # The user name is kept in the form; the password never comes back.
    assert 'value="zhang"' in wrong.text and "not the password" not in wrong.text


def test_lockout_says_until_when_and_ends_after_fifteen_minutes(
    client: AsgiClient, users: Users, clock: FrozenClock
) -> None:
    en = {"Accept-Language": "en"}
    for _ in range(4):
        assert login(client, users.engineer, "bad guess 123", headers=en).status_code == 401
    locked = login(client, users.engineer, "bad guess 123", headers=en)
    assert locked.status_code == 429
    # START is 08:00 UTC: 16:00 in Beijing, locked until 16:15.
    assert "locked" in alert(locked) and "2026-03-02 16:15 (Beijing time)" in alert(locked)

    right = login(client, users.engineer, PASSWORD, headers=en)
    assert right.status_code == 429 and alert(right) == alert(locked)
    assert session_cookie(client) is None

    clock.advance(timedelta(minutes=15))
    assert login(client, users.engineer, PASSWORD, headers=en).status_code == 303


def test_the_login_form_needs_its_csrf_cookie_and_field(client: AsgiClient, users: Users) -> None:
    form = client.get("/login")
    csrf = cookie_header(form, "weibao_login_csrf")
    assert "HttpOnly" in csrf and "SameSite=strict" in csrf and "Path=/login" in csrf
    data = {"username": "zhang", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 403
    assert client.post("/login", data={**data, "csrf_token": "forged"}).status_code == 403
    client._client.cookies.clear()
    no_cookie = client.post("/login", data={**data, "csrf_token": csrf_of(form)})
    assert no_cookie.status_code == 403 and session_cookie(client) is None


def test_a_weak_hash_is_replaced_at_login(client: AsgiClient, users: Users, store: Store) -> None:
    before = users.engineer.password_hash
    assert "m=8,t=1,p=1" in before
    login(client, users.engineer)
    after = AccountStore(store).user_by_name("zhang")
    assert after is not None and after.password_hash != before
    assert after.password_hash.startswith("$argon2id$") and "m=8,t=1" not in after.password_hash


# --- sessions -------------------------------------------------------------------------


def test_session_cookie_flags(client: AsgiClient, users: Users) -> None:
    answer = login(client, users.engineer)
    session = cookie_header(answer, "weibao_session")
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
    assert "Secure" not in session


def test_secure_behind_a_trusted_proxy_only(
    monkeypatch: pytest.MonkeyPatch,
    store: Store,
    inventory: Inventory,
    engine: Engine,
    clock: FrozenClock,
    users: Users,
) -> None:
    from desk.api import create_app

    proxied = {"X-Forwarded-Proto": "https"}
    with AsgiClient(create_app(store, inventory, engine, clock)) as untrusted:
        form = untrusted.get("/login", headers=proxied)
        assert "Secure" not in cookie_header(form, "weibao_login_csrf")

    monkeypatch.setenv("WEIBAO_TRUST_PROXY", "1")
    with AsgiClient(create_app(store, inventory, engine, clock)) as trusted:
        form = trusted.get("/login", headers=proxied)
        assert "Secure" in cookie_header(form, "weibao_login_csrf")
        # The test talks plain HTTP, over which a client keeps Secure cookies to itself:
        # send it by hand, as the browser would over the proxy's HTTPS.
        token = csrf_of(form)
        answer = trusted.post(
            "/login",
            data={"username": "zhang", "password": PASSWORD, "csrf_token": token},
            headers={**proxied, "Cookie": f"weibao_login_csrf={token}"},
        )
        assert answer.status_code == 303
        assert "Secure" in cookie_header(answer, "weibao_session")
        plain = trusted.get("/login", headers={"X-Forwarded-Proto": "http"})
        assert "Secure" not in cookie_header(plain, "weibao_login_csrf")

    monkeypatch.delenv("WEIBAO_TRUST_PROXY")
    monkeypatch.setenv("WEIBAO_COOKIE_SECURE", "1")
    with AsgiClient(create_app(store, inventory, engine, clock)) as forced:
        assert "Secure" in cookie_header(forced.get("/login"), "weibao_login_csrf")


def test_a_session_ends_after_twelve_idle_hours(
    client: AsgiClient, users: Users, clock: FrozenClock
) -> None:
    login(client, users.engineer)
    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get("/probe/staff").status_code == 200
    clock.advance(timedelta(hours=11, minutes=59))  # idle counts from the last request
    assert client.get("/probe/staff").status_code == 200
    clock.advance(timedelta(hours=12))
    gone = client.get("/probe/staff")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


def test_a_session_ends_seven_days_after_login_however_busy(
    client: AsgiClient, users: Users, clock: FrozenClock
) -> None:
    login(client, users.engineer)
    for _ in range(6 * 2):
        clock.advance(timedelta(hours=11))
        assert client.get("/probe/staff").status_code == 200
    clock.advance(timedelta(days=7) - timedelta(hours=6 * 2 * 11))
    assert client.get("/probe/staff").status_code == 303


def test_logout_deletes_the_session(
    client: AsgiClient, users: Users, store: Store, clock: FrozenClock
) -> None:
    login(client, users.engineer)
    token = session_cookie(client)
    csrf = session_csrf(client, store, clock)
    answer = client.post("/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert 'weibao_session=""' in cookie_header(answer, "weibao_session")
    assert AccountStore(store).session_count(users.engineer.id) == 0
    # The old cookie, replayed, opens nothing.
    client._client.cookies.set("weibao_session", token or "", domain="desk.test")
    assert client.get("/probe/staff").status_code == 303


def test_disabling_a_user_ends_their_sessions(
    client: AsgiClient, users: Users, store: Store, clock: FrozenClock
) -> None:
    login(client, users.engineer)
    assert client.get("/probe/staff").status_code == 200
    Accounts(store, clock).disable("zhang")
    assert client.get("/probe/staff").status_code == 303
    assert login(client, users.engineer).status_code == 401


def test_htmx_requests_are_sent_to_login_as_a_whole_page(client: AsgiClient) -> None:
    answer = client.get("/probe/staff", headers={"HX-Request": "true"})
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/login?next=/probe/staff"


# --- roles and CSRF -------------------------------------------------------------------


def test_a_wrong_role_gets_403_as_a_page(client: AsgiClient, users: Users) -> None:
    login(client, users.customer, headers={"Accept-Language": "en"})
    refused = client.get("/probe/staff", headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "may not open this page" in refused.text


def test_a_customer_account_is_bound_to_its_customer(client: AsgiClient, users: Users) -> None:
    login(client, users.customer)
    assert client.get("/probe/me").text.split("|") == [
        "acme",
        "Acme Bank",
        "None",
        "zh",
        "True",
        "False",
    ]


def test_a_post_without_the_csrf_token_is_refused(
    client: AsgiClient, users: Users, store: Store, clock: FrozenClock
) -> None:
    login(client, users.engineer, headers={"Accept-Language": "en"})
    en = {"Accept-Language": "en"}
    missing = client.post("/probe/form", data={"note": "x"}, headers=en)
    assert missing.status_code == 403 and "Reload the page" in missing.text
    wrong = client.post("/probe/form", data={"note": "x", "csrf_token": "guess"}, headers=en)
    assert wrong.status_code == 403
    csrf = session_csrf(client, store, clock)
    ok = client.post("/probe/form", data={"note": "x", "csrf_token": csrf})
    assert ok.status_code == 200 and ok.text == "saved 'x' for zhang"
    htmx = client.post("/probe/form", data={"note": "y"}, headers={"X-CSRF-Token": csrf})
    assert htmx.status_code == 200
    assert client.post("/logout").status_code == 403


def test_a_post_without_a_session_goes_to_login(client: AsgiClient) -> None:
    answer = client.post("/probe/form", data={"note": "x", "csrf_token": "x"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


# --- language -------------------------------------------------------------------------


def test_the_login_page_follows_the_browser_or_the_switch(client: AsgiClient) -> None:
    assert "用户名" in client.get("/login").text  # no Accept-Language: Chinese
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "User name" in english.text and '<html lang="en">' in english.text
    switched = client.get("/login?lang=zh", headers={"Accept-Language": "en"})
    assert "用户名" in switched.text and 'name="lang" value="zh"' in switched.text


def test_a_person_s_language_choice_is_kept(
    client: AsgiClient, users: Users, store: Store, clock: FrozenClock
) -> None:
    en = {"Accept-Language": "en"}
    login(client, users.manager, headers=en)
    assert client.get("/probe/me", headers=en).text.split("|")[3] == "en"
    answer = client.post(
        "/account/language",
        data={
            "language": "zh",
            "next": "/probe/me",
            "csrf_token": session_csrf(client, store, clock),
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/probe/me"
    assert client.get("/probe/me", headers=en).text.split("|")[3] == "zh"
    stored = AccountStore(store).user_by_name("wang")
    assert stored is not None and stored.language == "zh"


def test_the_layout_shows_the_role_s_navigation_name_and_logout(
    client: AsgiClient, users: Users
) -> None:
    login(client, users.manager, headers={"Accept-Language": "en"})
    manager = client.get("/probe/customer", headers={"Accept-Language": "en"}).text
    assert 'href="/dashboard"' in manager and 'href="/queue"' in manager
    assert "Dashboard" in manager and "王丽" in manager and 'href="/portal"' not in manager
    client._client.cookies.clear()
    login(client, users.customer, headers={"Accept-Language": "en"})
    refused = client.get("/probe/staff").text
    assert 'href="/portal"' in refused and 'href="/portal/reports"' in refused
    assert 'href="/queue"' not in refused and "Acme IT" in refused
    assert 'action="/logout"' in refused


# --- self-contained pages ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/docs", "/redoc"])
def test_pages_load_nothing_from_other_sites(client: AsgiClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text) == []
    for url in re.findall(r'(?:src|href)=["\']([^"\']+)', page.text):
        assert url.startswith(("/", "?")), url
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url


def test_vendored_files_are_served_with_their_licences(client: AsgiClient) -> None:
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/htmx/LICENSE",
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/vendor/swagger-ui/LICENSE",
        "/static/vendor/redoc/redoc.standalone.js",
        "/static/vendor/redoc/LICENSE",
        "/static/console.css",
    ):
        assert client.get(path).status_code == 200, path


def test_the_level_colours_are_weibao_s(client: AsgiClient) -> None:
    css = client.get("/static/console.css").text
    for level in Level:
        assert f"--level-{level.value}: {level.colour};" in css
    for name in (".level-I", ".level-II", ".level-III", ".level-IV", ".risk-warn", ".risk-breach"):
        assert name in css


def test_every_message_of_the_layout_and_login_is_translated() -> None:
    import desk.web as web
    from desk.i18n import LOCALE_DIR
    from desk.web import session
    from desk.web.templating import NAV, TEMPLATES, Pages

    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "web.po").open("rb") as po:
        catalog = read_po(po)
    env = Pages(FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))).environment("zh")
    sources = [
        (TEMPLATES / name).read_text(encoding="utf-8") for name in ("base.html", "login.html")
    ]
    wanted = {
        message
        for source in [*sources, web._FORBIDDEN_PAGE]
        for _, _, message in env.extract_translations(source)  # type: ignore[attr-defined]
        if isinstance(message, str)
    }
    wanted |= {label for entries in NAV.values() for _, label in entries}
    wanted |= {web.WRONG_LOGIN, web.LOCKED_LOGIN, web.EXPIRED_LOGIN}
    wanted |= {session.CSRF_MESSAGE, session.ROLE_MESSAGE}
    translated = {message.id for message in catalog if message.id and message.string}
    missing = sorted(wanted - translated)
    assert missing == [], f"add these to desk/locale/zh/LC_MESSAGES/web.po: {missing}"
