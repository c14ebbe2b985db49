"""Rendering the console's pages: Jinja2 over ``desk/web/templates/``, in the reader's
language.

:class:`Pages` keeps one Jinja2 environment per language, each with the ``i18n``
extension and that language's gettext installed (``{% trans %}``, ``_()``,
``ngettext``), so two requests in different languages never share a translation.
Messages are looked up in the ``console`` catalog (the pages) and then in ``web`` (the
layout and accounts), see :mod:`desk.i18n`.

Every template is given:

===============  ===================================================================
``request``      the Starlette request
``user``         the :class:`~desk.web.context.WebUser`, or ``None`` (login page)
``csrf_token``   what every form posts back as ``csrf_token``
``lang``         ``zh`` or ``en``
``now``          the injected clock's time (UTC, aware)
``nav``          the navigation for the user's role: ``(href, label)``, labels translated
``here``         the path and query of this page (forms that come back to it)
``level_label``  ``level_label("II")`` is ``II级`` in Chinese, ``Level II`` in English
``|local``       ``ticket.detected_at|local(site_tz)``: a time in a site's time zone
===============  ===================================================================

Usage in a page::

    pages = Pages(clock)
    return pages.render(request, user, "queue.html", tickets=tickets)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from desk.i18n import LANGUAGES, language_of, level_label, negotiate, translations
from desk.model import Role
from desk.web.context import WebUser
from weibao.clock import Clock

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_TZ = "Asia/Shanghai"

# Pages are served by the desk alone: no other origin may supply a script, a style, a
# font or a frame, and no page may be framed (clickjacking). Inline styles stay allowed
# for bar widths and the like; inline scripts do not (htmx is a file, hx-on is not used).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The API docs pages may load nothing from elsewhere: Redoc's bundle fetches its
# makers' logo from their CDN, which this keeps in the browser (the logo just hides).
# Inline script and styles are the docs pages' own (FastAPI's initialiser, Redoc's CSS).
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show customer data: never keep them in a shared or back-button cache.
    "Cache-Control": "no-store",
}


def gettext_noop(message: str) -> str:
    """Marks a message for translation where it is defined; translated when shown."""
    return message


NAV: Mapping[Role, tuple[tuple[str, str], ...]] = {
    Role.engineer: (("/queue", gettext_noop("Queue")),),
    Role.manager: (("/dashboard", gettext_noop("Dashboard")), ("/queue", gettext_noop("Queue"))),
    Role.customer: (
        ("/portal", gettext_noop("My tickets")),
        ("/portal/reports", gettext_noop("Reports")),
    ),
}


class _Catalogs:
    """gettext over the ``console`` catalog, then ``web``: the first that translates."""

    def __init__(self, language: str) -> None:
        self._chain = (translations("console", language), translations("web", language))

    def gettext(self, message: str) -> str:
        for catalog in self._chain:
            found = catalog.gettext(message)
            if found != message:
                return found
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        for catalog in self._chain:
            found = catalog.ngettext(singular, plural, n)
            if found not in (singular, plural):
                return found
        return singular if n == 1 else plural

    def pgettext(self, context: str, message: str) -> str:
        for catalog in self._chain:
            found = str(catalog.pgettext(context, message))
            if found != message:
                return found
        return message

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        for catalog in self._chain:
            found = str(catalog.npgettext(context, singular, plural, n))
            if found not in (singular, plural):
                return found
        return singular if n == 1 else plural


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as the site's people read it; ``""`` for none.

    An unknown zone falls back to Beijing time rather than failing the page: the
    inventory's zones are checked when it loads, so this only guards hand-made calls.
    """
    if value is None:
        return ""
    try:
        zone = ZoneInfo(tz or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(DEFAULT_TZ)
    return value.astimezone(zone).strftime(fmt)


def translate(language: str, message: str, **variables: str) -> str:
    """A message in ``language`` outside a template, ``%(name)s`` filled in after
    translating (the translation may move the placeholder)."""
    text = _catalogs(language_of(language)).gettext(message)
    return text % variables if variables else text


@cache
def _catalogs(language: str) -> _Catalogs:
    return _Catalogs(language)


@cache
def _environment(language: str, templates: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(("html", "htm", "xml"), default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    catalogs = _catalogs(language)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        catalogs.gettext,
        catalogs.ngettext,
        newstyle=True,
        pgettext=catalogs.pgettext,
        npgettext=catalogs.npgettext,
    )
    env.filters["local"] = local_time
    env.globals["languages"] = LANGUAGES
    return env


class Pages:
    """Renders templates for a request; the pages and the login share one instance."""

    def __init__(self, clock: Clock, templates: Path = TEMPLATES) -> None:
        self._clock = clock
        self._templates = templates

    def environment(self, language: str) -> Environment:
        return _environment(language_of(language), self._templates)

    def language(self, request: Request, user: WebUser | None) -> str:
        """The person's choice, else ``?lang=``, else the browser's Accept-Language."""
        if user is not None:
            return language_of(user.language)
        asked = request.query_params.get("lang")
        if asked:
            return language_of(asked)
        return negotiate(request.headers.get("accept-language"))

    def render(
        self,
        request: Request,
        user: WebUser | None,
        template: str,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The template as a page (or an htmx fragment) in the user's language."""
        html = self.render_text(request, user, template, **context)
        return HTMLResponse(
            html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
        )

    def render_text(
        self, request: Request, user: WebUser | None, template: str, **context: Any
    ) -> str:
        lang = context.pop("lang", None) or self.language(request, user)
        loaded = self.environment(lang).get_template(template)
        return loaded.render(self._values(request, user, lang, context))

    def render_string(
        self, request: Request, user: WebUser | None, source: str, **context: Any
    ) -> str:
        """A one-off template (the error pages) that may extend ``base.html``."""
        lang = context.pop("lang", None) or self.language(request, user)
        loaded = self.environment(lang).from_string(source)
        return loaded.render(self._values(request, user, lang, context))

    def _values(
        self, request: Request, user: WebUser | None, lang: str, context: dict[str, Any]
    ) -> dict[str, Any]:
        catalogs = _catalogs(lang)
        nav = NAV.get(user.role, ()) if user is not None else ()
        path = request.url.path
        query = f"?{request.url.query}" if request.url.query else ""
        # A page answering a POST (an error, say) is not a place to come back to.
        here = path + query if request.method in ("GET", "HEAD") else "/"
        # The most specific entry is the current one: /portal/reports, not /portal.
        current = max(
            (href for href, _ in nav if path == href or path.startswith(href + "/")),
            key=len,
            default=None,
        )
        values: dict[str, Any] = {
            "request": request,
            "here": here,
            "nav_current": current,
            "user": user,
            "csrf_token": user.csrf_token if user is not None else "",
            "lang": lang,
            "now": self._clock.now(),
            "nav": [(href, catalogs.gettext(label)) for href, label in nav],
            "level_label": lambda level: level_label(str(level), lang),
        }
        values.update(context)
        return values
