"""The dispatcher with an in-memory outbox (tests/desk/notify/outbox.py; the desk's database
outbox is tested separately) and real peers: the recording HTTP server and aiosmtpd.
Retries run on an injected FrozenClock, so backoff is checked to the second."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from desk.notify.dispatcher import Backoff, Dispatcher, OutboxItem, Sender
from desk.notify.errors import DeliveryError
from desk.notify.formats import make_format
from desk.notify.mail import EmailSender
from desk.notify.message import Notice
from desk.notify.metrics import NotificationCollector
from desk.notify.webhook import WebhookSender
from tests.desk.notify.conftest import KEY, START, sample_notice
from tests.desk.notify.hookserver import HANG, HookServer
from tests.desk.notify.outbox import MemoryOutbox
from tests.desk.notify.smtpserver import BoundController, Inbox
from weibao.clock import FrozenClock
from weibao.inventory.notify import SmtpSettings


def wecom(hooks: HookServer, clock: FrozenClock, name: str = "ops-wecom") -> WebhookSender:
    url = hooks.url(f"/cgi-bin/webhook/send?key={KEY}")
    return WebhookSender(name, url, make_format("wecom", "text"), timeout=5, clock=clock)


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Broken:
    """A sender with a bug (not a stand-in for a peer): it raises something unexpected."""

    def send(self, notice: Notice) -> None:
        raise RuntimeError(f"bug with {KEY}")


class Permanent:
    def send(self, notice: Notice) -> None:
        raise DeliveryError("no recipient of this notice has an e-mail address", permanent=True)


@pytest.fixture
def outbox() -> MemoryOutbox:
    return MemoryOutbox()


def test_backoff_doubles_from_30s_up_to_the_cap() -> None:
    backoff = Backoff()
    assert [backoff.delay(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1800,
        1800,
    ]
    assert Backoff(first=timedelta(seconds=5), factor=3).delay(3) == timedelta(seconds=45)
    assert backoff.delay(10_000) == timedelta(minutes=30)  # no overflow


def test_a_notice_is_sent_once(outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock) -> None:
    item = outbox.put("ops-wecom", sample_notice(), clock.now())
    dispatcher = Dispatcher(outbox, {"ops-wecom": wecom(hooks, clock)}, clock)
    assert dispatcher.dispatch_once().sent == 1
    assert dispatcher.dispatch_once().handled == 0  # sent items are not claimed again
    row = outbox.row(item)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, START)
    assert len(hooks.requests) == 1
    assert dispatcher.stats()["ops-wecom"].sent == 1


def test_http_500_then_errcode_then_success_retries_with_backoff(
    outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock
) -> None:
    hooks.answer(500, b"busy")
    hooks.answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    item = outbox.put("ops-wecom", sample_notice(), clock.now())
    dispatcher = Dispatcher(outbox, {"ops-wecom": wecom(hooks, clock)}, clock)

    assert dispatcher.dispatch_once().retried == 1
    assert outbox.row(item).next_at == START + timedelta(seconds=30)
    clock.advance(timedelta(seconds=29))
    assert dispatcher.dispatch_once().handled == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    assert dispatcher.dispatch_once().retried == 1
    assert outbox.row(item).next_at == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=60))
    assert dispatcher.dispatch_once().sent == 1

    row = outbox.row(item)
    assert (row.status, row.attempts) == ("sent", 3)
    assert row.errors[0].startswith("HTTP 500 from WeCom at http://127.0.0.1")
    assert row.errors[1] == "WeCom refused the message: errcode 45009 (api freq out of limit)"
    assert len(hooks.requests) == 3
    stats = dispatcher.stats()["ops-wecom"]
    assert (stats.sent, stats.failed, stats.gave_up) == (1, 2, 0)


def test_gives_up_after_max_attempts_and_keeps_the_item_as_failed(
    outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hooks.default = (500, f"bad gateway for key={KEY}".encode())
    item = outbox.put("ops-wecom", sample_notice(), clock.now())
    dispatcher = Dispatcher(outbox, {"ops-wecom": wecom(hooks, clock)}, clock, max_attempts=3)
    reports = []
    for _ in range(3):
        reports.append(dispatcher.dispatch_once())
        clock.advance(timedelta(hours=1))
    assert [(r.retried, r.gave_up) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    assert dispatcher.dispatch_once().handled == 0  # given up: never claimed again
    row = outbox.row(item)
    assert (row.status, row.attempts, row.next_at) == ("failed", 3, None)
    assert dispatcher.stats()["ops-wecom"].gave_up == 1

    events = [r.getMessage() for r in caplog.records if r.name == "weibao.desk.notify"]
    assert events == ["notify.retry", "notify.retry", "notify.gave_up"]
    gave_up = caplog.records[-1]
    assert gave_up.levelno == logging.ERROR
    assert gave_up.fields["channel"] == "ops-wecom"  # type: ignore[attr-defined]
    assert gave_up.fields["ticket"] == "WB-2026-000123"  # type: ignore[attr-defined]
    # The key is in the URL and was echoed by the server: it reaches no log and no error.
    assert KEY not in caplog.text
    assert all(KEY not in str(vars(r)) for r in caplog.records)
    assert all(KEY not in e for e in row.errors)


def test_a_failing_channel_does_not_stop_the_others(
    outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock
) -> None:
    dead = WebhookSender(
        "dead",
        f"http://127.0.0.1:{dead_port()}/send?key={KEY}",
        make_format("dingtalk", "markdown"),
        clock=clock,
    )
    senders: dict[str, Sender] = {
        "dead": dead,
        "broken": Broken(),
        "gone": Permanent(),
        "ops-wecom": wecom(hooks, clock),
    }
    ids = {name: outbox.put(name, sample_notice(), clock.now()) for name in senders}
    ids["unknown"] = outbox.put("unknown", sample_notice(), clock.now())
    report = Dispatcher(outbox, senders, clock).dispatch_once()
    assert (report.sent, report.retried, report.gave_up) == (1, 2, 2)
    assert outbox.row(ids["ops-wecom"]).status == "sent"
    assert outbox.row(ids["dead"]).errors[0].startswith("cannot connect to DingTalk at")
    assert outbox.row(ids["broken"]).errors == ["unexpected RuntimeError in the sender"]
    assert outbox.row(ids["gone"]).status == "failed"  # permanent: no retry
    unknown = outbox.row(ids["unknown"])
    assert unknown.status == "failed"
    assert unknown.errors == ["no channel named 'unknown' is configured in notifications.channels"]


def test_a_slow_channel_does_not_delay_another(outbox: MemoryOutbox, clock: FrozenClock) -> None:
    with HookServer() as slow, HookServer() as fast:
        slow.default = (HANG, b"")
        slow_sender = WebhookSender(
            "slow", slow.url(), make_format("webhook", "json"), timeout=1, clock=clock
        )
        a = outbox.put("slow", sample_notice(), clock.now())
        b = outbox.put("fast", sample_notice(), clock.now())
        senders = {"slow": slow_sender, "fast": wecom(fast, clock, "fast")}
        Dispatcher(outbox, senders, clock).dispatch_once()
    # Claimed in the order slow, fast; recorded fast first: the lanes ran side by side.
    assert outbox.events == [("sent", b), ("failed", a)]


def test_email_channel_through_the_dispatcher(
    outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock
) -> None:
    inbox = Inbox()
    controller = BoundController(inbox)
    port = controller.port
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", sender="noc@example.cn")
    mail = EmailSender("mail", settings, clock=clock)
    item = outbox.put("mail", sample_notice(), clock.now())
    dispatcher = Dispatcher(outbox, {"mail": mail}, clock)
    # The relay is down (nothing listens yet): a retry in 30 s.
    assert dispatcher.dispatch_once().retried == 1
    assert outbox.row(item).errors[0].startswith(f"cannot connect to SMTP server 127.0.0.1:{port}")
    controller.start()
    try:
        clock.advance(timedelta(seconds=30))
        assert dispatcher.dispatch_once().sent == 1
    finally:
        controller.stop()
    assert inbox.messages[0].message["Subject"] == sample_notice().title


def test_background_thread_delivers_and_stops(
    outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock
) -> None:
    dispatcher = Dispatcher(outbox, {"ops-wecom": wecom(hooks, clock)}, clock)
    dispatcher.start(interval=30)  # long: only wake() makes it look before the deadline
    try:
        item = outbox.put("ops-wecom", sample_notice(), clock.now())
        dispatcher.wake()
        wait_for(lambda: outbox.row(item).status == "sent")
    finally:
        dispatcher.stop(timeout=5)
    assert not dispatcher.running
    assert len(hooks.requests) == 1


class FlakyOutbox(MemoryOutbox):
    """An outbox whose first claim fails, as a database that went away for a moment."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = threading.Event()

    def claim(self, now: datetime, limit: int) -> list[OutboxItem]:
        if not self.failed.is_set():
            self.failed.set()
            raise ConnectionError("server closed the connection unexpectedly")
        return super().claim(now, limit)


def test_an_outbox_error_is_logged_and_the_thread_lives_on(
    hooks: HookServer, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = FlakyOutbox()
    item = outbox.put("ops-wecom", sample_notice(), clock.now())
    dispatcher = Dispatcher(outbox, {"ops-wecom": wecom(hooks, clock)}, clock)
    dispatcher.start(interval=0.02)
    try:
        wait_for(lambda: outbox.row(item).status == "sent")
    finally:
        dispatcher.stop(timeout=5)
    assert dispatcher.outbox_errors == 1
    assert "notify.outbox_error" in [r.getMessage() for r in caplog.records]


def test_counters_as_prometheus_metrics(
    outbox: MemoryOutbox, hooks: HookServer, clock: FrozenClock
) -> None:
    hooks.answer(500, b"")
    dispatcher = Dispatcher(outbox, {"ops-wecom": wecom(hooks, clock), "mail": Permanent()}, clock)
    outbox.put("ops-wecom", sample_notice(), clock.now())
    outbox.put("mail", sample_notice(), clock.now())
    dispatcher.dispatch_once()
    clock.advance(timedelta(minutes=1))
    dispatcher.dispatch_once()
    registry = CollectorRegistry()
    registry.register(NotificationCollector(dispatcher))
    text = generate_latest(registry).decode()
    assert 'weibao_notifications_sent_total{channel="ops-wecom"} 1.0' in text
    assert 'weibao_notifications_failed_total{channel="ops-wecom"} 1.0' in text
    assert 'weibao_notifications_gave_up_total{channel="mail"} 1.0' in text
    assert 'weibao_notifications_sent_total{channel="mail"} 0.0' in text
    assert "weibao_notifications_outbox_errors_total 0.0" in text


def wait_for(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    """Poll ``condition`` until true; fail after ``deadline`` seconds (never a fixed sleep)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"condition not met within {deadline}s")
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def _no_thread_left() -> Iterator[None]:
    before = {t.name for t in threading.enumerate()}
    yield
    left = {t.name for t in threading.enumerate()} - before
    assert not {n for n in left if n.startswith("weibao-")}
