"""The notification outbox in the desk's database, as the dispatcher's :class:`Outbox`.

Notices are written by the ticket's own transaction (:mod:`desk.notices`); this side
claims them with a lease, so several desk processes can dispatch without sending a
notice twice, and records every attempt. A notice whose JSON cannot be read (written by
a newer desk, say) is marked failed with the reason, never dropped silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from desk.notify.dispatcher import OutboxItem
from desk.notify.message import Notice
from desk.storage import Store

LEASE = timedelta(minutes=5)


class DbOutbox:
    def __init__(self, store: Store, lease: timedelta = LEASE) -> None:
        self._store = store
        self._lease = lease

    def claim(self, now: datetime, limit: int) -> list[OutboxItem]:
        items = []
        for record in self._store.outbox_claim(now, limit, self._lease):
            try:
                notice = Notice.from_json(record.notice)
            except ValueError as exc:
                self._store.outbox_failed(record.id, f"unreadable notice: {exc}", None, now)
                continue
            items.append(OutboxItem(record.id, record.channel, notice, record.attempts))
        return items

    def mark_sent(self, item_id: int, now: datetime) -> None:
        self._store.outbox_sent(item_id, now)

    def mark_failed(
        self, item_id: int, error: str, retry_at: datetime | None, now: datetime
    ) -> None:
        self._store.outbox_failed(item_id, error, retry_at, now)
