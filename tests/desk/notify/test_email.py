"""E-mail through a real SMTP server (aiosmtpd) on 127.0.0.1: plain, STARTTLS with login,
implicit TLS, a wrong password, a relay that is down, and nobody to write to."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from desk.notify.errors import DeliveryError
from desk.notify.mail import EmailSender
from desk.notify.message import Recipient
from tests.desk.notify.conftest import LI, ZHANG, sample_notice
from tests.desk.notify.smtpserver import (
    BoundController,
    Inbox,
    Login,
    make_certificate,
    server_context,
)
from tests.peers import require_peer
from weibao.clock import FrozenClock
from weibao.inventory.notify import SmtpSettings

PASSWORD = "s3cr3t-Pa55"


def smtp(port: int, **changes: Any) -> SmtpSettings:
    data: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "weibao 值班 <noc@example.cn>",
        "timeout": "5s",
    }
    data.update(changes)
    return SmtpSettings.model_validate(data)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def plain_server(inbox: Inbox) -> Iterator[BoundController]:
    controller = BoundController(inbox)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = require_peer("openssl", "makes the TLS certificate of the test SMTP server")
    return make_certificate(openssl, tmp_path_factory.mktemp("smtp-tls"))


def test_message_arrives_with_utf8_subject_and_every_recipient(
    inbox: Inbox, plain_server: BoundController, clock: FrozenClock
) -> None:
    notice = sample_notice()
    EmailSender("mail", smtp(plain_server.port), to=["noc@example.cn"], clock=clock).send(notice)
    (got,) = inbox.messages
    assert got.mail_from == "noc@example.cn"
    assert got.rcpt_tos == ["zhang.wei@example.cn", "li.na@example.cn", "noc@example.cn"]
    msg = got.message
    assert msg["Subject"] == notice.title  # decoded from RFC 2047: Chinese survives
    assert [a.display_name for a in msg["To"].addresses] == ["张伟", "李娜", ""]
    assert msg["From"].addresses[0].display_name == "weibao 值班"
    assert msg["X-Weibao-Ticket"] == "WB-2026-000123"
    assert msg["Date"].datetime == clock.now()
    part = msg.get_body()
    assert part is not None
    body = part.get_content()
    assert "业务仍运行。" in body and "site: 上海总部" in body
    assert notice.url in body


def test_starttls_with_login_and_a_private_ca(
    inbox: Inbox, certificate: tuple[Path, Path], clock: FrozenClock
) -> None:
    cert, key = certificate
    controller = BoundController(
        inbox,
        tls_context=server_context(cert, key),
        require_starttls=True,
        authenticator=Login("noc", PASSWORD),
        auth_required=True,
    )
    controller.start()
    try:
        settings = smtp(
            controller.port,
            security="starttls",
            username="noc",
            password="env:P",
            ca_file=str(cert),
        )
        EmailSender("mail", settings, PASSWORD, clock=clock).send(sample_notice())
        assert len(inbox.messages) == 1

        with pytest.raises(DeliveryError) as info:
            EmailSender("mail", settings, "wrong-" + PASSWORD, clock=clock).send(sample_notice())
        reason = info.value.reason
        assert "refused the login of noc: 535" in reason
        assert PASSWORD not in reason and not info.value.permanent
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_implicit_tls(inbox: Inbox, certificate: tuple[Path, Path], clock: FrozenClock) -> None:
    cert, key = certificate
    # aiosmtpd only counts STARTTLS as TLS for its auth_require_tls; this is TLS throughout.
    controller = BoundController(
        inbox,
        ssl_context=server_context(cert, key),
        authenticator=Login("noc", PASSWORD),
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = smtp(
            controller.port, security="ssl", username="noc", password="env:P", ca_file=str(cert)
        )
        EmailSender("mail", settings, PASSWORD, clock=clock).send(sample_notice())
        assert inbox.messages[0].message["Subject"] == sample_notice().title
    finally:
        controller.stop()


def test_untrusted_certificate_is_refused(
    inbox: Inbox, certificate: tuple[Path, Path], clock: FrozenClock
) -> None:
    cert, key = certificate
    controller = BoundController(inbox, ssl_context=server_context(cert, key))
    controller.start()
    try:
        with pytest.raises(DeliveryError) as info:  # no ca_file: the system CAs do not know it
            EmailSender("mail", smtp(controller.port, security="ssl"), clock=clock).send(
                sample_notice()
            )
        assert "TLS with SMTP server 127.0.0.1" in info.value.reason
        assert "ca_file" in info.value.reason
        assert inbox.messages == []
    finally:
        controller.stop()


def test_starttls_required_but_not_offered(
    plain_server: BoundController, clock: FrozenClock
) -> None:
    settings = smtp(plain_server.port, security="starttls")
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        EmailSender("mail", settings, clock=clock).send(sample_notice())


def test_server_down_is_a_retryable_failure(clock: FrozenClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as info:
        EmailSender("mail", smtp(port), clock=clock).send(sample_notice())
    assert (
        info.value.reason == f"cannot connect to SMTP server 127.0.0.1:{port}: Connection refused"
    )
    assert not info.value.permanent


def test_nobody_with_an_address_is_a_permanent_failure(
    inbox: Inbox, plain_server: BoundController, clock: FrozenClock
) -> None:
    notice = sample_notice(recipients=(Recipient("王强", phone="13700137000"),))
    with pytest.raises(DeliveryError) as info:
        EmailSender("mail", smtp(plain_server.port), clock=clock).send(notice)
    assert info.value.permanent and "no recipient" in info.value.reason
    assert inbox.messages == []


def test_duplicate_addresses_get_one_copy(
    inbox: Inbox, plain_server: BoundController, clock: FrozenClock
) -> None:
    notice = sample_notice(recipients=(ZHANG, LI, ZHANG))
    EmailSender("mail", smtp(plain_server.port), to=["Li.Na@example.cn"], clock=clock).send(notice)
    assert inbox.messages[0].rcpt_tos == ["zhang.wei@example.cn", "li.na@example.cn"]


def test_date_follows_the_clock(
    inbox: Inbox, plain_server: BoundController, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=3))
    EmailSender("mail", smtp(plain_server.port), clock=clock).send(sample_notice())
    assert inbox.messages[0].message["Date"].datetime == clock.now()


def test_a_line_break_in_the_title_stays_in_the_subject(
    inbox: Inbox, plain_server: BoundController, clock: FrozenClock
) -> None:
    notice = sample_notice(title="[I] WB-2026-000124 db-01: down\nBcc: someone@example.com")
    EmailSender("mail", smtp(plain_server.port), clock=clock).send(notice)
    (got,) = inbox.messages
    assert got.message["Subject"] == "[I] WB-2026-000124 db-01: down Bcc: someone@example.com"
    assert got.message["Bcc"] is None
    assert got.rcpt_tos == ["zhang.wei@example.cn", "li.na@example.cn"]
