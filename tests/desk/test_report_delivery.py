"""Scheduled report delivery: what is queued when, to whom, exactly once (across runs,
restarts and two desk processes on one database), and how the e-mail sender renders
and attaches the report at each attempt, through a real SMTP server (aiosmtpd).

The report itself is a stand-in here (``render``): these tests are about scheduling and
delivery; tests/integration/test_report_mail.py sends the real PDF.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from desk.notify.dispatcher import Backoff, Dispatcher
from desk.notify.formats import make_format
from desk.notify.mail import EmailSender
from desk.notify.message import Notice, NoticeKind, ReportRequest
from desk.outbox import DbOutbox
from desk.reports.delivery import CATCH_UP, ReportDelivery
from desk.reports.errors import ReportError
from desk.server import build_desk
from desk.storage import Store
from desk.storage.tables import OutboxRow, ReportDeliveryRow
from rules.api import Engine
from tests.desk.notify.smtpserver import BoundController, Inbox
from weibao.clock import FrozenClock
from weibao.errors import ConfigError
from weibao.inventory.model import Inventory

from .conftest import INVENTORY

SHANGHAI_8AM_DEC_1 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
SHANGHAI_8AM_JAN_1 = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
START = SHANGHAI_8AM_DEC_1


def delivery_inventory(smtp_port: int = 2525, **delivery: Any) -> Inventory:
    """The desk tests' customers with contacts, an e-mail channel and report delivery."""
    data = copy.deepcopy(INVENTORY)
    acme = data["customers"][0]["contracts"][0]
    acme["customer_contact"] = {"name": "陈静", "email": "chen.jing@acme.example.com"}
    beta = data["customers"][1]["contracts"][0]
    beta["service_manager"] = {"name": "赵敏", "email": "zhao.min@example.com"}
    data["notifications"] = {
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "sender": "weibao 报告 <reports@example.com>",
            "timeout": "5s",
        },
        "channels": [
            {"name": "mail", "type": "email"},
            {"name": "duty", "type": "wecom", "url": "env:WEIBAO_TEST_UNUSED_HOOK"},
        ],
    }
    data["reports"] = {"delivery": {"channel": "mail", **delivery}}
    return Inventory.model_validate(data)


def outbox_rows(store: Store) -> list[OutboxRow]:
    with store.read_session() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def claims(store: Store) -> int:
    with store.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(ReportDeliveryRow)) or 0)


@dataclass(frozen=True)
class File:
    content: bytes
    media_type: str
    filename: str


class StandIn:
    """A report renderer that records each call and can fail on purpose."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.calls: list[ReportRequest] = []
        self.failures = list(failures or [])

    def __call__(self, request: ReportRequest) -> File:
        self.calls.append(request)
        if self.failures:
            raise self.failures.pop(0)
        body = f"%PDF-1.7 {request.kind} {request.customer} {request.period}".encode()
        return File(body, "application/pdf", f"巡检报告-{request.customer}-{request.period}.pdf")


def test_nothing_is_queued_without_a_delivery_channel(store: Store, inventory: Inventory) -> None:
    delivery = ReportDelivery(store, inventory, FrozenClock(SHANGHAI_8AM_JAN_1))
    assert delivery.run_once(SHANGHAI_8AM_JAN_1) == []
    assert outbox_rows(store) == []


def test_the_month_before_goes_to_each_contracts_contact_and_manager(store: Store) -> None:
    inventory = delivery_inventory()
    delivery = ReportDelivery(store, inventory, FrozenClock(SHANGHAI_8AM_DEC_1))
    assert delivery.run_once(SHANGHAI_8AM_DEC_1 - timedelta(minutes=1)) == []  # 07:59 there

    queued = delivery.run_once(SHANGHAI_8AM_DEC_1)
    assert queued == ["inspection:ACME-2026:2026-11", "inspection:BETA-2026:2026-11"]
    acme, beta = outbox_rows(store)
    assert (acme.channel, acme.kind, acme.ticket, acme.status) == (
        "mail",
        "report.inspection",
        None,
        "pending",
    )
    notice = Notice.from_json(acme.notice)
    assert notice.report == ReportRequest(
        kind="inspection",
        period="2026-11",
        customer="Acme Bank",
        contract="ACME-2026",
        format="pdf",
        language="zh",
    )
    assert [(r.name, r.email) for r in notice.recipients] == [
        ("陈静", "chen.jing@acme.example.com"),
        ("Wang Li", "wang@example.com"),
    ]
    assert "/api/v1/reports/inspection?customer=Acme+Bank" in notice.facts["download"]
    assert [r.name for r in Notice.from_json(beta.notice).recipients] == ["赵敏"]
    # The request, never the file: the outbox stays small.
    assert len(json.dumps(acme.notice, ensure_ascii=False)) < 2000


def test_a_quarter_start_also_queues_the_quarterly_statistics_for_the_managers(
    store: Store,
) -> None:
    inventory = delivery_inventory(format="xlsx", language="en")
    delivery = ReportDelivery(store, inventory, FrozenClock(SHANGHAI_8AM_JAN_1))
    queued = delivery.run_once(SHANGHAI_8AM_JAN_1 + timedelta(hours=3))
    assert "quarterly:company:2026-Q4" in queued
    [quarterly] = [r for r in outbox_rows(store) if r.kind == "report.quarterly"]
    notice = Notice.from_json(quarterly.notice)
    assert notice.kind is NoticeKind.report_quarterly
    assert notice.report == ReportRequest(
        kind="quarterly", period="2026-Q4", format="xlsx", language="en"
    )
    assert sorted(r.name for r in notice.recipients) == ["Wang Li", "赵敏"]


def test_each_delivery_is_queued_once_across_runs_and_restarts(store: Store, db_url: str) -> None:
    inventory = delivery_inventory()
    clock = FrozenClock(SHANGHAI_8AM_DEC_1)
    assert len(ReportDelivery(store, inventory, clock).run_once(clock.now())) == 2
    clock.advance(timedelta(minutes=15))
    assert ReportDelivery(store, inventory, clock).run_once(clock.now()) == []
    restarted = Store(db_url)  # another process's connection to the same database
    try:
        assert ReportDelivery(restarted, inventory, clock).run_once(clock.now()) == []
    finally:
        restarted.close()
    assert len(outbox_rows(store)) == 2 and claims(store) == 2


def test_two_desk_processes_on_one_database_queue_a_delivery_once(
    db_url: str, engine: Engine
) -> None:
    inventory = delivery_inventory()
    clock = FrozenClock(SHANGHAI_8AM_DEC_1 + timedelta(seconds=30))
    first = build_desk(db_url, inventory, engine, clock, senders={})
    second = build_desk(db_url, inventory, engine, clock, senders={})
    try:
        first.housekeeper.run_once()
        second.housekeeper.run_once()
        clock.advance(timedelta(minutes=1))
        second.housekeeper.run_once()
        first.housekeeper.run_once()
        rows = outbox_rows(first.store)
        assert sorted(Notice.from_json(r.notice).report.contract for r in rows) == [  # type: ignore[union-attr]
            "ACME-2026",
            "BETA-2026",
        ]
    finally:
        first.store.close()
        second.store.close()


def test_a_delivery_time_missed_for_long_is_not_sent_late(store: Store) -> None:
    inventory = delivery_inventory()
    clock = FrozenClock(SHANGHAI_8AM_DEC_1)
    late = SHANGHAI_8AM_DEC_1 + CATCH_UP + timedelta(minutes=1)
    assert ReportDelivery(store, inventory, clock).run_once(late) == []
    # A desk that was down over the 1st and comes back within the catch-up still sends.
    back = SHANGHAI_8AM_DEC_1 + timedelta(days=2)
    assert len(ReportDelivery(store, inventory, clock).run_once(back)) == 2


def test_the_delivery_follows_its_cron_and_time_zone(store: Store) -> None:
    inventory = delivery_inventory(monthly_cron="30 6 2 * *", timezone="Europe/Berlin")
    delivery = ReportDelivery(store, inventory, FrozenClock(SHANGHAI_8AM_DEC_1))
    berlin_0630 = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)  # CET is UTC+1 in December
    assert delivery.run_once(berlin_0630 - timedelta(seconds=1)) == []
    assert len(delivery.run_once(berlin_0630)) == 2


def test_a_contract_not_in_force_in_the_month_gets_no_report(store: Store) -> None:
    data = delivery_inventory().model_dump(mode="json", exclude_none=True)
    data["customers"][1]["contracts"][0]["start"] = "2026-12-15"
    inventory = Inventory.model_validate(data)
    queued = ReportDelivery(store, inventory, FrozenClock(SHANGHAI_8AM_DEC_1)).run_once(
        SHANGHAI_8AM_DEC_1
    )
    assert queued == ["inspection:ACME-2026:2026-11"]


@pytest.mark.parametrize(
    ("channel", "complaint"),
    [
        ("post", "no channel named 'post'"),
        ("duty", "channel 'duty' is a wecom channel; reports are sent as e-mail attachments"),
    ],
)
def test_a_delivery_channel_that_cannot_send_reports_stops_the_desk(
    db_url: str, engine: Engine, channel: str, complaint: str
) -> None:
    inventory = delivery_inventory(channel=channel)
    with pytest.raises(ConfigError) as caught:
        build_desk(db_url, inventory, engine, FrozenClock(SHANGHAI_8AM_DEC_1), senders={})
    text = str(caught.value)
    assert "reports.delivery.channel" in text and complaint in text
    assert "name an email channel of notifications.channels (mail)" in caught.value.problems[0].hint


def test_a_bad_delivery_time_zone_is_named(store: Store) -> None:
    with pytest.raises(ConfigError, match=r"reports.delivery.timezone: unknown time zone"):
        ReportDelivery(store, delivery_inventory(timezone="Mars/Olympus"), FrozenClock(START))


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_server(inbox: Inbox) -> Iterator[BoundController]:
    controller = BoundController(inbox)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def mail_dispatcher(
    store: Store, inventory: Inventory, clock: FrozenClock, render: StandIn
) -> Dispatcher:
    smtp = inventory.notifications.smtp
    assert smtp is not None
    sender = EmailSender("mail", smtp, clock=clock, render_report=render)
    return Dispatcher(DbOutbox(store), {"mail": sender}, clock, backoff=Backoff())


def test_the_sender_renders_at_each_attempt_and_attaches_the_report(
    store: Store, inbox: Inbox, smtp_server: BoundController
) -> None:
    inventory = delivery_inventory(smtp_server.port)
    clock = FrozenClock(SHANGHAI_8AM_DEC_1)
    ReportDelivery(store, inventory, clock).run_once(clock.now())
    render = StandIn(failures=[RuntimeError("renderer crashed"), RuntimeError("again")])
    dispatcher = mail_dispatcher(store, inventory, clock, render)

    assert dispatcher.dispatch_once().retried == 2
    assert inbox.messages == []
    assert [(r.status, r.attempts) for r in outbox_rows(store)] == [("pending", 1)] * 2
    assert "unexpected RuntimeError" in (outbox_rows(store)[0].last_error or "")

    clock.advance(timedelta(seconds=31))
    assert dispatcher.dispatch_once().sent == 2
    assert len(render.calls) == 4  # rendered again at the retry, not stored
    assert [r.status for r in outbox_rows(store)] == ["sent", "sent"]
    first = inbox.messages[0]
    assert first.rcpt_tos == ["chen.jing@acme.example.com", "wang@example.com"]
    message = first.message
    assert "巡检报告 Inspection report 2026-11" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "Acme Bank" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "巡检报告-Acme Bank-2026-11.pdf"  # RFC 2231, intact
    assert attachment.get_content() == b"%PDF-1.7 inspection Acme Bank 2026-11"


def test_a_report_that_cannot_be_built_is_given_up_with_the_reason(
    store: Store, smtp_server: BoundController, inbox: Inbox
) -> None:
    inventory = delivery_inventory(smtp_server.port)
    clock = FrozenClock(SHANGHAI_8AM_DEC_1)
    ReportDelivery(store, inventory, clock).run_once(clock.now())
    gone = ReportError("no customer 'Acme Bank' in the inventory")
    render = StandIn(failures=[gone, gone])
    assert mail_dispatcher(store, inventory, clock, render).dispatch_once().gave_up == 2
    row = outbox_rows(store)[0]
    assert (row.status, row.attempts) == ("failed", 1)  # kept, shown as failed
    assert "cannot be built: no customer 'Acme Bank'" in (row.last_error or "")
    assert inbox.messages == []


def test_a_sender_without_a_renderer_refuses_a_report_notice_for_good(
    store: Store, smtp_server: BoundController
) -> None:
    inventory = delivery_inventory(smtp_server.port)
    clock = FrozenClock(SHANGHAI_8AM_DEC_1)
    ReportDelivery(store, inventory, clock).run_once(clock.now())
    smtp = inventory.notifications.smtp
    assert smtp is not None
    dispatcher = Dispatcher(DbOutbox(store), {"mail": EmailSender("mail", smtp)}, clock)
    assert dispatcher.dispatch_once().gave_up == 2
    assert "cannot render reports" in (outbox_rows(store)[0].last_error or "")


def test_a_chat_channel_given_a_report_notice_sends_a_short_text_with_the_path(
    store: Store,
) -> None:
    ReportDelivery(store, delivery_inventory(), FrozenClock(START)).run_once(START)
    notice = Notice.from_json(outbox_rows(store)[0].notice)
    outgoing = make_format("wecom", "text").build(notice, "https://hook.test/x", None, START)
    content = json.loads(outgoing.body)["text"]["content"]
    assert content.startswith("巡检报告 Inspection report 2026-11 · Acme Bank · ACME-2026")
    assert "download: /api/v1/reports/inspection?customer=Acme+Bank" in content
    assert len(outgoing.body) < 2048


def test_the_report_request_survives_the_outbox_and_refuses_nonsense() -> None:
    request = ReportRequest(kind="quarterly", period="2026-Q4", customer="恒通物流")
    notice = Notice(NoticeKind.report_quarterly, "t", "b", report=request)
    assert Notice.from_json(json.loads(json.dumps(notice.to_json()))) == notice
    for bad in ({"kind": "weekly"}, {"format": "docx"}, {"language": "fr"}, {"period": " "}):
        data = {**request.to_json(), **bad}
        with pytest.raises(ValueError, match="report"):
            Notice.from_json({**notice.to_json(), "report": data})
    with pytest.raises(ValueError, match="must name its customer"):
        ReportRequest(kind="inspection", period="2026-11")


def test_ticket_notices_keep_their_json_shape() -> None:
    notice = Notice(NoticeKind.ticket_opened, "t", "b")
    assert "report" not in notice.to_json()


def test_no_event_loop_is_involved_in_sending(
    store: Store, inbox: Inbox, smtp_server: BoundController
) -> None:
    """The sender renders in the dispatcher's thread: no loop runs there to block."""
    inventory = delivery_inventory(smtp_server.port)
    clock = FrozenClock(START)
    ReportDelivery(store, inventory, clock).run_once(START)
    seen: list[bool] = []

    class Probe(StandIn):
        def __call__(self, request: ReportRequest) -> File:
            try:
                asyncio.get_running_loop()
                seen.append(True)
            except RuntimeError:
                seen.append(False)
            return super().__call__(request)

    mail_dispatcher(store, inventory, clock, Probe()).dispatch_once()
    assert seen == [False, False]


def test_the_claim_names_its_outbox_row(store: Store) -> None:
    ReportDelivery(store, delivery_inventory(), FrozenClock(START)).run_once(START)
    with store.read_session() as session:
        rows = list(session.scalars(select(ReportDeliveryRow).order_by(ReportDeliveryRow.id)))
    outbox_ids = [r.id for r in outbox_rows(store)]
    assert [(r.kind, r.scope, r.period, r.channel, r.outbox_id) for r in rows] == [
        ("inspection", "ACME-2026", "2026-11", "mail", outbox_ids[0]),
        ("inspection", "BETA-2026", "2026-11", "mail", outbox_ids[1]),
    ]
