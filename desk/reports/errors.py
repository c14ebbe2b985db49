"""Errors of the report builders.

WeibaoError
└── ReportError   the report cannot be built as asked: unknown customer or contract,
                  a period that is not one, a logo that cannot be read

The API answers a ReportError with 404 or 422 and the command line prints it; its text
is a full sentence that says what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from weibao.errors import WeibaoError


class ReportError(WeibaoError):
    """The report cannot be built as asked; ``suggestion`` is the closest known name."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


def unknown_name(
    kind: str, name: str, known: Iterable[str], where: str = "in the inventory"
) -> ReportError:
    """``no customer 'Acme Bnak' in the inventory: did you mean 'Acme Bank'?``, or the
    choices when there are few and none is close."""
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.3)
    message = f"no {kind} {name!r} {where}"
    if close:
        message += f": did you mean {close[0]!r}?"
    elif names and len(names) <= 10:
        message += f"; known: {', '.join(names)}"
    return ReportError(message, close[0] if close else None)
