"""The web console: server-rendered pages (Jinja2) for engineers, managers and customers.

:func:`install_web` adds to the desk's app:

- ``/static/...``: the console's CSS and the vendored htmx, Swagger UI and Redoc, so no
  page loads anything from another site (``docs/web.md``);
- ``/login`` (form and POST), ``/logout`` (POST), ``/account/language`` (POST) and ``/``,
  which sends each person to their start page (engineers and managers to the queue,
  customers to their portal);
- the pages of :mod:`desk.web.pages`, which check the session with
  :func:`desk.web.session.user_required` and :func:`desk.web.session.csrf_required`.

The login form is protected against CSRF before there is a session: GET /login puts a
random token in a cookie (``weibao_login_csrf``, SameSite=Strict) and in the form, and
the POST must bring both, equal (double submit).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from fastapi import Depends, FastAPI, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from desk.i18n import language_of
from desk.model import Role
from desk.storage import Store
from desk.web.accounts import Accounts, Outcome
from desk.web.context import WebContext, WebUser
from desk.web.pages import pages_router
from desk.web.session import (
    LOGIN_CSRF_COOKIE,
    CookiePolicy,
    LoginRequired,
    WebForbidden,
    WebSessions,
    csrf_required,
    login_url,
    safe_next,
    user_required,
)
from desk.web.templating import (
    DEFAULT_TZ,
    PAGE_HEADERS,
    Pages,
    gettext_noop,
    local_time,
    translate,
)
from desk.workflow import Workflow
from weibao.clock import Clock
from weibao.inventory.model import Inventory

STATIC = Path(__file__).parent / "static"
HOME = {Role.engineer: "/queue", Role.manager: "/queue", Role.customer: "/portal"}
LOGIN_CSRF_LIFETIME = timedelta(hours=12)

WRONG_LOGIN = gettext_noop("Wrong user name or password.")
LOCKED_LOGIN = gettext_noop(
    "This account is locked after too many failed logins, until %(until)s (Beijing time). "
    "Try again then, or ask a manager to set a new password."
)
EXPIRED_LOGIN = gettext_noop("The login form had expired. Please log in again.")

_FORBIDDEN_PAGE = """{% extends "base.html" %}
{% block title %}{{ _("Not allowed") }}{% endblock %}
{% block content %}
<section class="card narrow">
  <h1>{{ _("Not allowed") }}</h1>
  <p>{{ _(message) }}</p>
  <p><a class="button" href="/">{{ _("Go to my start page") }}</a></p>
</section>
{% endblock %}
"""


def home_of(user: WebUser) -> str:
    return HOME.get(user.role, "/login")


def install_web(
    app: FastAPI, store: Store, inventory: Inventory, workflow: Workflow, clock: Clock
) -> None:
    """Add the console's pages and static files to the desk's app."""
    pages = Pages(clock)
    sessions = WebSessions(store, clock, cookies=CookiePolicy.from_env(os.environ))
    accounts = Accounts(store, clock)
    signed_in = Depends(user_required(store, clock))
    csrf = Depends(csrf_required(store, clock))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = login_url(exc.next_path)
        if request.headers.get("hx-request") == "true":
            # htmx follows a 303 inside the page and would swap the login form into a
            # fragment; HX-Redirect makes it load the login page as a whole.
            return Response(
                status_code=status.HTTP_401_UNAUTHORIZED, headers={"HX-Redirect": target}
            )
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)

    @app.exception_handler(WebForbidden)
    async def forbidden(request: Request, exc: WebForbidden) -> Response:
        user = getattr(request.state, "web_user", None)
        html = pages.render_string(
            request,
            user if isinstance(user, WebUser) else None,
            _FORBIDDEN_PAGE,
            message=exc.message,
        )
        return HTMLResponse(html, status.HTTP_403_FORBIDDEN, headers=PAGE_HEADERS)

    def login_page(
        request: Request,
        next_path: str,
        lang: str,
        error: str | None = None,
        status_code: int = 200,
        username: str = "",
    ) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if len(token) != 43:  # secrets.token_urlsafe(32)
            token = secrets.token_urlsafe(32)
        chosen = language_of(lang) if lang else ""
        response = pages.render(
            request,
            None,
            "login.html",
            status_code=status_code,
            csrf_token=token,
            next=next_path,
            chosen_lang=chosen,
            lang=chosen or pages.language(request, None),
            error=error,
            username=username,
        )
        sessions.set_cookie(
            request,
            response,
            LOGIN_CSRF_COOKIE,
            token,
            LOGIN_CSRF_LIFETIME,
            "strict",
            path="/login",
        )
        return response

    @app.get("/", include_in_schema=False)
    def start(request: Request) -> Response:
        user = sessions.current(request)
        target = home_of(user) if user is not None else "/login"
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/", lang: str = "") -> Response:
        user = sessions.current(request)
        if user is not None:
            return RedirectResponse(_after_login(user, next), status.HTTP_303_SEE_OTHER)
        return login_page(request, safe_next(next), lang)

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form(""),
        next: str = Form("/"),
        lang: str = Form(""),
    ) -> Response:
        next_path = safe_next(next)
        shown = language_of(lang) if lang else pages.language(request, None)
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if (
            not cookie
            or not csrf_token
            or not secrets.compare_digest(cookie.encode(), csrf_token.encode())
        ):
            message = translate(shown, EXPIRED_LOGIN)
            return await run_in_threadpool(
                login_page, request, next_path, lang, message, 403, username
            )
        # argon2 takes tens of milliseconds: off the event loop.
        result = await run_in_threadpool(accounts.authenticate, username, password)
        if result.outcome is Outcome.ok and result.user is not None:
            record = result.user
            if lang:
                await run_in_threadpool(accounts.records.set_language, record.id, language_of(lang))
            target = safe_next(next_path)
            if target == "/":
                target = HOME.get(record.role, "/")
            response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
            await run_in_threadpool(sessions.start, request, response, record)
            await run_in_threadpool(accounts.records.delete_expired_sessions, clock.now())
            sessions.delete_cookie(request, response, LOGIN_CSRF_COOKIE, path="/login")
            return response
        if result.outcome is Outcome.locked:
            until = local_time(result.locked_until, DEFAULT_TZ)
            message = translate(shown, LOCKED_LOGIN, until=until)
            return await run_in_threadpool(
                login_page, request, next_path, lang, message, 429, username
            )
        message = translate(shown, WRONG_LOGIN)
        return await run_in_threadpool(login_page, request, next_path, lang, message, 401, username)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, user: WebUser = signed_in, _: None = csrf) -> Response:
        response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
        sessions.end(request, response)
        return response

    @app.post("/account/language", include_in_schema=False)
    def set_language(
        request: Request,
        language: str = Form(...),
        next: str = Form("/"),
        user: WebUser = signed_in,
        _: None = csrf,
    ) -> Response:
        accounts.records.set_language(user.id, language_of(language))
        target = safe_next(next, home_of(user))
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)

    app.include_router(pages_router(WebContext(store, inventory, workflow, clock)))


def _after_login(user: WebUser, next_path: str) -> str:
    target = safe_next(next_path)
    return home_of(user) if target == "/" else target
