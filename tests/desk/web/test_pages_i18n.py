"""Every English message of the pages has its Chinese translation, with the same
placeholders; and the pages really speak Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from desk.i18n import LOCALE_DIR
from desk.web.views.common import gettext_for, span
from weibao.levels import Level

from ..asgi import AsgiClient
from .conftest import Users, login
from .page_fixtures import Desk, desk_fixture, inventory_fixture  # noqa: F401

WEB = Path(__file__).resolve().parents[3] / "desk" / "web"
# The accounts' templates translate in their own "web" catalog.
THEIRS = {"base.html", "login.html"}
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def page_sources() -> Iterator[tuple[Path, Any]]:
    for path in sorted((WEB / "templates").rglob("*.html")):
        if path.name not in THEIRS:
            yield path, babel_extract
    yield WEB / "pages.py", "python"
    for path in sorted((WEB / "views").glob("*.py")):
        yield path, "python"


def messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path, method in page_sources():
        options = {"extensions": "jinja2.ext.i18n"} if method is babel_extract else {}
        for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords={"_": None, "gettext": None}, options=options
        ):
            text = message[0] if isinstance(message, tuple) else message
            found.setdefault(text, f"{path.name}:{lineno}")
    return found


def test_every_message_of_the_pages_is_translated() -> None:
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "console.po").open("rb") as po:
        catalog = read_po(po)
    found = messages()
    assert len(found) > 200  # the extraction itself works
    missing = [f"{where}: {text!r}" for text, where in found.items() if not catalog.get(text)]
    assert not missing, "not in console.po:\n" + "\n".join(missing)
    empty = [text for text in found if not catalog[text].string]
    assert not empty, f"untranslated: {empty}"
    for text in found:
        translated = catalog[text].string
        assert isinstance(translated, str)
        assert sorted(_PLACEHOLDER.findall(text)) == sorted(_PLACEHOLDER.findall(translated)), text


def test_spans_read_in_both_languages() -> None:
    assert span(3 * 3600 + 5 * 60, gettext_for("en")) == "3h 5m"
    assert span(3 * 3600 + 5 * 60, gettext_for("zh")) == "3小时 5分"
    assert span(26 * 3600, gettext_for("zh")) == "1天 2小时"


def test_the_queue_and_ticket_speak_chinese(client: AsgiClient, users: Users, desk: Desk) -> None:
    ticket = desk.open("acme-db", Level.II)
    login(client, users.engineer, headers={"Accept-Language": "zh-CN"})
    queue = client.get("/queue", headers={"Accept-Language": "zh-CN"}).text
    assert "我的工单" in queue and "II级" in queue and "剩余" in queue
    page = client.get(f"/tickets/{ticket.number}", headers={"Accept-Language": "zh-CN"}).text
    assert "确认接单" in page and "处理建议" in page and "响应" in page
    english = client.get("/queue", headers={"Accept-Language": "en"}).text
    assert "My queue" in english and "Level II" in english
