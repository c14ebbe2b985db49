"""Logged-in browsers: the session cookie, who is behind it, and CSRF checks.

A login gives the browser a random token in the cookie ``weibao_session`` (HttpOnly,
SameSite=Lax, ``Secure`` over HTTPS); the desk keeps only its SHA-256 and a CSRF token
per session. A session ends after 12 hours without a request, 7 days after the login
whatever happens, at logout, and when its user is disabled or gets a new password.

The pages use two dependency factories::

    from fastapi import Depends
    from desk.web.session import csrf_required, user_required

    staff = user_required(ctx.store, ctx.clock, frozenset({Role.engineer, Role.manager}))
    csrf = csrf_required(ctx.store, ctx.clock)

    @router.get("/queue")
    def queue(request: Request, user: WebUser = Depends(staff)) -> HTMLResponse: ...

    @router.post("/tickets/{number}/ack")
    def ack(number: str, user: WebUser = Depends(staff), _: None = Depends(csrf)) -> ...:

- ``user_required`` yields the :class:`~desk.web.context.WebUser`. A browser without a
  live session is sent to ``/login?next=<path>`` (303; an htmx request gets 401 with
  ``HX-Redirect`` instead, so the login page is not swapped into a fragment); a user
  whose role is not in ``roles`` gets 403.
- ``csrf_required`` checks the form field ``csrf_token``, or the header
  ``X-CSRF-Token`` (htmx: ``hx-headers``), against the session's token, and answers 403
  saying to reload the page when it is missing or wrong. Every POST needs it.

Whether the cookie is ``Secure``: always with ``WEIBAO_COOKIE_SECURE=1``; otherwise
when the request itself is HTTPS, or, only with ``WEIBAO_TRUST_PROXY=1``, when a
reverse proxy says so with ``X-Forwarded-Proto: https`` (without the setting that
header is ignored: anyone could send it).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from desk.i18n import language_of, negotiate
from desk.model import Role
from desk.storage import Store
from desk.storage.accounts import AccountStore, SessionRecord, UserRecord
from desk.web.context import WebUser
from desk.web.templating import gettext_noop
from weibao.clock import Clock

SESSION_COOKIE = "weibao_session"
LOGIN_CSRF_COOKIE = "weibao_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Writing last_seen on every request would make each page view a database write; a
# minute of slack on a 12-hour idle limit costs nothing.
TOUCH_EVERY = timedelta(minutes=1)

CSRF_MESSAGE = gettext_noop(
    "This form has expired or did not come from this desk (its security token is missing "
    "or wrong). Reload the page and submit it again."
)
ROLE_MESSAGE = gettext_noop(
    "Your account may not open this page. Go back to your start page, or ask a manager "
    "if you need this access."
)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``idle`` since the last request, ``absolute`` since
    the login, whichever ends first."""

    idle: timedelta = timedelta(hours=12)
    absolute: timedelta = timedelta(days=7)

    def expires(self, created: datetime, now: datetime) -> datetime:
        return min(now + self.idle, created + self.absolute)


@dataclass(frozen=True)
class CookiePolicy:
    """When the cookies get ``Secure`` (see the module docstring)."""

    force_secure: bool = False
    trust_proxy: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CookiePolicy:
        return cls(
            force_secure=_flag(environ.get("WEIBAO_COOKIE_SECURE")),
            trust_proxy=_flag(environ.get("WEIBAO_TRUST_PROXY")),
        )

    def secure(self, request: Request) -> bool:
        if self.force_secure or request.url.scheme == "https":
            return True
        if self.trust_proxy:
            forwarded = request.headers.get("x-forwarded-proto", "")
            # A chain of proxies lists one scheme each; the first is the browser's.
            return forwarded.split(",")[0].strip().lower() == "https"
        return False


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class LoginRequired(Exception):
    """No live session: the handler in :mod:`desk.web` sends the browser to log in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class WebForbidden(Exception):
    """A 403 shown as a page; ``message`` is English, translated when shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def hash_session(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def safe_next(target: str | None, default: str = "/") -> str:
    """A path on this desk to go to after login: never another site (open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


def login_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='/')}"


def requested_path(request: Request) -> str:
    """Where to come back to after login. A POST cannot be replayed, so it returns to the
    page the form was on (the Referer, when it is this desk's)."""
    if request.method in ("GET", "HEAD"):
        query = f"?{request.url.query}" if request.url.query else ""
        return request.url.path + query
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path:
        return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return "/"


class WebSessions:
    """Starts, finds and ends sessions for one store and clock."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        policy: SessionPolicy | None = None,
        cookies: CookiePolicy | None = None,
    ) -> None:
        self._records = AccountStore(store)
        self._clock = clock
        self.policy = policy or SessionPolicy()
        self.cookies = cookies or CookiePolicy()

    def start(self, request: Request, response: Response, user: UserRecord) -> None:
        """A new session for ``user``, its cookie set on ``response``. Always a fresh
        token, so a token planted before the login (session fixation) is worthless."""
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        self._records.add_session(
            SessionRecord(
                id_hash=hash_session(token),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=self.policy.expires(now, now),
            )
        )
        self.set_cookie(request, response, SESSION_COOKIE, token, self.policy.absolute, "lax")

    def current(self, request: Request) -> WebUser | None:
        """The person behind the request's cookie, or None; keeps the session alive."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token or len(token) > 200:
            return None
        now = self._clock.now()
        found = self._records.session_with_user(hash_session(token), now)
        if found is None:
            return None
        session, user = found
        if now - session.last_seen_at >= TOUCH_EVERY:
            self._records.touch_session(
                session.id_hash, now, self.policy.expires(session.created_at, now)
            )
        return WebUser(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            customer=user.customer,
            engineer=user.engineer,
            language=language_of(
                user.language or negotiate(request.headers.get("accept-language"))
            ),
            csrf_token=session.csrf_token,
        )

    def end(self, request: Request, response: Response) -> None:
        """Logout: the session is deleted on the desk, and the cookie in the browser."""
        token = request.cookies.get(SESSION_COOKIE)
        if token and len(token) <= 200:
            self._records.delete_session(hash_session(token))
        self.delete_cookie(request, response, SESSION_COOKIE)

    def set_cookie(
        self,
        request: Request,
        response: Response,
        name: str,
        value: str,
        max_age: timedelta,
        samesite: Literal["lax", "strict"],
        path: str = "/",
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=int(max_age.total_seconds()),
            path=path,
            secure=self.cookies.secure(request),
            httponly=True,
            samesite=samesite,
        )

    def delete_cookie(
        self, request: Request, response: Response, name: str, path: str = "/"
    ) -> None:
        response.delete_cookie(
            name, path=path, secure=self.cookies.secure(request), httponly=True, samesite="lax"
        )


def _sessions(store: Store, clock: Clock, policy: SessionPolicy | None) -> WebSessions:
    return WebSessions(store, clock, policy)


def _current(request: Request, sessions: WebSessions) -> WebUser | None:
    cached = getattr(request.state, "web_user", None)
    if isinstance(cached, WebUser):
        return cached
    user = sessions.current(request)
    request.state.web_user = user
    return user


def user_required(
    store: Store,
    clock: Clock,
    roles: frozenset[Role] | None = None,
    policy: SessionPolicy | None = None,
) -> Callable[..., WebUser]:
    """A dependency yielding the logged-in WebUser (see the module docstring)."""
    sessions = _sessions(store, clock, policy)

    def dependency(request: Request) -> WebUser:
        user = _current(request, sessions)
        if user is None:
            raise LoginRequired(requested_path(request))
        if roles is not None and user.role not in roles:
            raise WebForbidden(ROLE_MESSAGE)
        return user

    return dependency


def csrf_required(
    store: Store, clock: Clock, policy: SessionPolicy | None = None
) -> Callable[..., Awaitable[None]]:
    """A dependency for POST routes: the session's CSRF token must come back, as the form
    field ``csrf_token`` or the header ``X-CSRF-Token`` (see the module docstring)."""
    sessions = _sessions(store, clock, policy)

    async def dependency(request: Request) -> None:
        user = await run_in_threadpool(_current, request, sessions)
        if user is None:
            raise LoginRequired(requested_path(request))
        sent = request.headers.get(CSRF_HEADER)
        if not sent and _is_form(request):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not sent or not secrets.compare_digest(sent.encode(), user.csrf_token.encode()):
            raise WebForbidden(CSRF_MESSAGE)

    return dependency


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")
