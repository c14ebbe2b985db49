"""Translations of the desk's pages and reports: gettext catalogs, read with Babel.

Messages are written in English in the code and templates; ``desk/locale/<lang>/
LC_MESSAGES/<domain>.po`` holds their translation (``reports`` for the reports, ``web``
for the console's layout and accounts, ``console`` for its pages). The ``.po`` files
are compiled in memory when first used, so there is no build step and no binary file in
the repository. Simplified Chinese is the default:
weibao's users and their customers read Chinese first.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
Domain = Literal["reports", "web", "console"]


@cache
def translations(domain: Domain, language: str) -> NullTranslations:
    """The catalog of ``domain`` in ``language``; English (the source text) needs none."""
    if language == "en":
        return NullTranslations()
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def language_of(requested: str | None) -> str:
    """``zh`` or ``en`` from a ``?lang=`` value or a person's setting; the default otherwise."""
    if requested:
        code = requested.strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for a browser's ``Accept-Language`` header."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    wanted = []
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*":
            wanted.append((weight, tag.replace("-", "_")))
    ordered = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    try:
        best = Locale.negotiate(ordered, list(LANGUAGES), sep="_")
    except (UnknownLocaleError, ValueError):
        best = None
    return str(best.language) if best is not None else DEFAULT_LANGUAGE


def level_label(level: str, language: str) -> str:
    """Fault levels as people write them: ``II级`` in Chinese, ``Level II`` in English."""
    return f"{level}级" if language == "zh" else f"Level {level}"


def level_column(level: str, language: str) -> str:
    """A fault level heading a column of a per-level table: ``II级`` in Chinese, the bare
    ``II`` in English (the table's title says "by level"), so four of them and a total fit
    a phone's width."""
    return f"{level}级" if language == "zh" else level
