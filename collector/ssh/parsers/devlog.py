"""A network device's log buffer: which entries are new since the last read, which count.

A device's clock is often wrong and its log times carry no time zone, so "new" is not
judged by time: the newest entry of each read is kept (the cursor), and the next read
counts only the entries after it. When that entry is gone (the buffer wrapped, or was
cleared) or on the first read, every entry in the buffer counts.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.ssh.parsers import Reading, sample

LOG_TEXT_MAX = 200
SOURCE = "logbuffer"


def new_entries(entries: list[str], seen: str | None) -> list[str]:
    """The entries after the last occurrence of ``seen``; all of them without it."""
    if seen is not None:
        for at in range(len(entries) - 1, -1, -1):
            if entries[at] == seen:
                return entries[at + 1 :]
    return entries


def log_reading(entries: list[str], seen: str | None, severe: Callable[[str], bool]) -> Reading:
    """``log_error_lines{source="logbuffer"}``: the severe new entries, the latest as text
    (a 0 with empty text when there are none, so the alarm can clear)."""
    errors = [e for e in new_entries(entries, seen) if severe(e)]
    latest = errors[-1].strip()[:LOG_TEXT_MAX] if errors else ""
    found = sample("log_error_lines", float(len(errors)), source=SOURCE, text=latest)
    return Reading([found], cursor=entries[-1] if entries else None)
