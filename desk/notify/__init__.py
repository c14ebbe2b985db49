"""Notifications: a notice about a ticket, delivered to chat groups and mailboxes.

::

    Notice ──► Outbox (the desk's database) ──► Dispatcher (own thread, retries)
                                                   └─► Sender per channel: WebhookSender
                                                       (JSON, WeCom, DingTalk, Feishu, Slack)
                                                       or EmailSender (SMTP)

The desk builds notices and puts them in its outbox; :func:`build_senders` turns the
inventory's ``notifications:`` section into senders; the :class:`Dispatcher` delivers.
See docs/notifications.md.
"""

from desk.notify.dispatcher import (
    Backoff,
    ChannelStats,
    Dispatcher,
    DispatchReport,
    Outbox,
    OutboxItem,
    Sender,
)
from desk.notify.errors import DeliveryError
from desk.notify.message import Notice, NoticeKind, Recipient, make_test_notice
from desk.notify.senders import build_dispatcher, build_senders

__all__ = [
    "Backoff",
    "ChannelStats",
    "DeliveryError",
    "DispatchReport",
    "Dispatcher",
    "Notice",
    "NoticeKind",
    "Outbox",
    "OutboxItem",
    "Recipient",
    "Sender",
    "build_dispatcher",
    "build_senders",
    "make_test_notice",
]
