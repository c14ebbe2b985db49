"""The scheduled inspection report by e-mail, through the desk as `weibao serve` wires it
(build_desk with the inventory's own senders) to a real SMTP server (aiosmtpd on
127.0.0.1): queued once on the 1st at 08:00 Shanghai time, kept in the outbox while the
relay refuses it, then delivered with the PDF attached; the PDF's text (pdftotext)
names the customer."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

import rules
from desk.model import Role
from desk.server import build_desk
from desk.tokens import issue_token
from tests.peers import require_peer
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from ..desk.asgi import AsgiClient
from ..desk.conftest import IMMEDIATE_RULES
from ..desk.notify.smtpserver import BoundController, Inbox

CUSTOMER = "恒通物流"
DECEMBER_1_0800_SHANGHAI = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


class BusyRelay(Inbox):
    """Answers 451 (try again later) to the first ``refusals`` messages, then accepts."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            return "451 4.3.0 mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


def inventory(smtp_port: int) -> Inventory:
    data: dict[str, Any] = {
        "notifications": {
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "sender": "weibao 报告 <reports@example.cn>",
                "timeout": "10s",
            },
            "channels": [{"name": "reports-mail", "type": "email", "to": ["noc@example.cn"]}],
        },
        "reports": {"delivery": {"channel": "reports-mail"}},
        "customers": [
            {
                "name": CUSTOMER,
                "code": "HT",
                "contracts": [
                    {
                        "id": "HT-2026",
                        "name": "恒通物流 IT 维保",
                        "start": "2026-01-01",
                        "end": "2027-12-31",
                        "service_manager": {"name": "王磊", "email": "wang.lei@example.cn"},
                        "customer_contact": {"name": "陈静", "email": "chen.jing@ht.example.cn"},
                        "sites": [
                            {
                                "name": "上海总部",
                                "hq": True,
                                "devices": [{"name": "ht-app-01", "kind": "server"}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    return Inventory.model_validate(data)


@pytest.fixture
def relay() -> Iterator[tuple[BusyRelay, BoundController]]:
    inbox = BusyRelay(refusals=1)
    controller = BoundController(inbox)
    controller.start()
    try:
        yield inbox, controller
    finally:
        controller.stop()


def test_the_monthly_report_is_mailed_with_its_pdf_after_a_refusal(
    relay: tuple[BusyRelay, BoundController], tmp_path: Path
) -> None:
    pdftotext = require_peer("pdftotext", "reads the text of the mailed PDF (poppler-utils)")
    inbox, controller = relay
    clock = FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    engine = rules.load_engine(IMMEDIATE_RULES)
    desk = build_desk(f"sqlite:///{tmp_path / 'desk.db'}", inventory(controller.port), engine,
                      clock)  # fmt: skip
    try:
        agent = issue_token(desk.store, Role.agent, None, None, clock.now()).token
        with AsgiClient(desk.app) as client:
            answer = client.post(
                "/api/v1/observations",
                json={
                    "device": "ht-app-01",
                    "source": "agent",
                    "time": clock.now().isoformat(),
                    "samples": [{"name": "up", "value": 1}],
                },
                headers={"Authorization": f"Bearer {agent}"},
            )
            assert answer.status_code == 200, answer.text

        clock.set(DECEMBER_1_0800_SHANGHAI - timedelta(minutes=1))
        desk.housekeeper.run_once()
        assert desk.store.outbox() == []  # 07:59 in Shanghai: not yet
        clock.set(DECEMBER_1_0800_SHANGHAI)
        desk.housekeeper.run_once()
        desk.housekeeper.run_once()
        [queued] = desk.store.outbox()
        assert queued.kind == "report.inspection"

        # The relay refuses: the delivery stays in the outbox, to be retried.
        assert desk.dispatcher.dispatch_once().retried == 1
        [waiting] = desk.store.outbox()
        assert (waiting.status, waiting.attempts) == ("pending", 1)
        assert "451" in (waiting.last_error or "")
        assert inbox.messages == []

        clock.advance(timedelta(seconds=31))  # the first retry is due after 30 s
        assert desk.dispatcher.dispatch_once().sent == 1
        [sent] = desk.store.outbox()
        assert sent.status == "sent"
    finally:
        desk.store.close()

    [mail] = inbox.messages
    assert mail.rcpt_tos == ["chen.jing@ht.example.cn", "wang.lei@example.cn", "noc@example.cn"]
    message: EmailMessage = mail.message
    assert f"{CUSTOMER}" in str(message["Subject"]) and "2026-11" in str(message["Subject"])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    filename = attachment.get_filename() or ""
    assert filename.startswith("XJ-") and filename.endswith(".pdf")
    content = attachment.get_content()
    assert isinstance(content, bytes) and content.startswith(b"%PDF-")
    pdf = tmp_path / filename
    pdf.write_bytes(content)
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert CUSTOMER in text and "ht-app-01" in text and "2026-11" in text
