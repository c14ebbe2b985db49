"""An in-memory Outbox for the dispatcher tests.

It follows the contract of desk.notify.dispatcher.Outbox (due items only, leased while
claimed, attempts counted, given-up items kept as failed); the desk's database outbox
implements the same contract and is tested separately, with the desk's storage.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from desk.notify.dispatcher import OutboxItem
from desk.notify.message import Notice

LEASE = timedelta(minutes=5)


@dataclass
class Row:
    id: int
    channel: str
    notice: Notice
    status: str = "pending"  # pending, sent, failed
    attempts: int = 0
    next_at: datetime | None = None
    leased_until: datetime | None = None
    errors: list[str] = field(default_factory=list)
    sent_at: datetime | None = None


class MemoryOutbox:
    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.events: list[tuple[str, int]] = []  # ("sent" | "failed", id) in record order
        self._lock = threading.Lock()

    def put(self, channel: str, notice: Notice, now: datetime) -> int:
        with self._lock:
            item_id = len(self.rows) + 1
            self.rows[item_id] = Row(item_id, channel, notice, next_at=now)
            return item_id

    def claim(self, now: datetime, limit: int) -> list[OutboxItem]:
        with self._lock:
            due = [
                r
                for r in self.rows.values()
                if r.status == "pending"
                and r.next_at is not None
                and r.next_at <= now
                and (r.leased_until is None or r.leased_until <= now)
            ][:limit]
            for row in due:
                row.leased_until = now + LEASE
            return [OutboxItem(r.id, r.channel, r.notice, r.attempts) for r in due]

    def mark_sent(self, item_id: int, now: datetime) -> None:
        with self._lock:
            row = self.rows[item_id]
            row.status, row.sent_at, row.leased_until = "sent", now, None
            row.attempts += 1
            self.events.append(("sent", item_id))

    def mark_failed(
        self, item_id: int, error: str, retry_at: datetime | None, now: datetime
    ) -> None:
        with self._lock:
            row = self.rows[item_id]
            row.attempts += 1
            row.errors.append(error)
            row.leased_until = None
            row.next_at = retry_at
            row.status = "pending" if retry_at is not None else "failed"
            self.events.append(("failed", item_id))

    def row(self, item_id: int) -> Row:
        with self._lock:
            return replace(self.rows[item_id])
