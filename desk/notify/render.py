"""A notice as plain text or as chat markdown, within a byte budget.

Group robots cap a message's size in UTF-8 bytes (WeCom: 2048 for text, 4096 for
markdown) and refuse anything longer, so every rendering here is cut to a budget at
a character boundary, marked with "…", keeping the title and link whole: a shortened
message still says what broke and where to look.
"""

from __future__ import annotations

from desk.notify.message import Notice

ELLIPSIS = "…"
LINK_LABEL = "查看工单 Open ticket"


def truncate_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, ending in "…" when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = max(0, limit - len(ELLIPSIS.encode("utf-8")))
    return data[:room].decode("utf-8", errors="ignore") + ELLIPSIS


def recipient_names(notice: Notice) -> str:
    return ", ".join(r.name for r in notice.recipients)


def _budgeted(head: str, middle: str, tail: str, limit: int, sep: str = "\n\n") -> str:
    """``head``, ``middle`` and ``tail`` joined; only ``middle`` is shortened to fit."""
    parts = [p for p in (head, middle, tail) if p]
    whole = sep.join(parts)
    if len(whole.encode("utf-8")) <= limit:
        return whole
    fixed = len(sep.join(p for p in (head, tail) if p).encode("utf-8"))
    room = limit - fixed - (len(sep.encode("utf-8")) if middle else 0)
    if room < 16:  # not even a line of the body fits: cut the whole thing
        return truncate_bytes(whole, limit)
    return sep.join(p for p in (head, truncate_bytes(middle, room), tail) if p)


def plain_text(notice: Notice, limit: int = 1 << 20, mentions: str = "") -> str:
    """Title, body, facts, recipients and link as plain lines (e-mail, WeCom/DingTalk text)."""
    facts = "\n".join(f"{k}: {v}" for k, v in notice.facts.items())
    middle = "\n\n".join(p for p in (notice.body.strip(), facts) if p)
    tail_lines = []
    if notice.recipients:
        tail_lines.append(f"To: {recipient_names(notice)}")
    if notice.url:
        tail_lines.append(f"{LINK_LABEL}: {notice.url}")
    if mentions:
        tail_lines.append(mentions)
    return _budgeted(notice.title, middle, "\n".join(tail_lines), limit)


def markdown(
    notice: Notice, limit: int = 1 << 20, mentions: str = "", title_prefix: str = ""
) -> str:
    """The notice in the markdown subset every robot reads: bold, lists, links."""
    head = f"{title_prefix}**{notice.title}**"
    facts = "\n".join(f"- **{k}**: {v}" for k, v in notice.facts.items())
    body = "  \n".join(line for line in notice.body.strip().splitlines())
    middle = "\n\n".join(p for p in (body, facts) if p)
    tail_lines = []
    if notice.recipients:
        tail_lines.append(f"To: {recipient_names(notice)}")
    if notice.url:
        tail_lines.append(f"[{LINK_LABEL}]({notice.url})")
    if mentions:
        tail_lines.append(mentions)
    return _budgeted(head, middle, "\n\n".join(tail_lines), limit)
