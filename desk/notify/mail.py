"""E-mail over SMTP: one message per notice, to every recipient with an address.

smtplib blocks, which is fine here: senders run in the dispatcher's own thread, never on
the desk's event loop. The subject and body are UTF-8 (names and titles are Chinese);
the standard library's ``email`` package encodes the headers (RFC 2047) and the body.
Named ``mail`` so that ``import email`` inside the package still means the standard one.

A report notice (:class:`~desk.notify.message.ReportRequest`) is rendered here, at each
attempt, by the callable the desk passes in, and attached with its MIME type and its
file name (RFC 2231, so a Chinese name arrives intact).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol

from desk.notify.errors import DeliveryError, scrub
from desk.notify.message import Notice, ReportRequest
from desk.notify.render import plain_text
from weibao import __version__
from weibao.clock import Clock, SystemClock
from weibao.errors import WeibaoError
from weibao.inventory.notify import SmtpSettings


class Attachment(Protocol):
    """A rendered file (``desk.reports.render.Rendered`` is one)."""

    @property
    def content(self) -> bytes: ...

    @property
    def media_type(self) -> str: ...

    @property
    def filename(self) -> str: ...


RenderReport = Callable[[ReportRequest], Attachment]
"""Builds and renders the report a notice asks for; raises a WeibaoError when it cannot
be built as asked (an unknown customer), anything else for a failure worth retrying."""


def build_message(
    notice: Notice,
    sender: str,
    extra_to: list[str],
    clock: Clock,
    attachment: Attachment | None = None,
) -> EmailMessage:
    """The message for ``notice``; raises a permanent DeliveryError when nobody has an address."""
    to: dict[str, Address] = {}
    for r in notice.recipients:
        if r.email and r.email.lower() not in to:
            to[r.email.lower()] = _address(r.email, r.name)
    for addr in extra_to:
        to.setdefault(addr.lower(), _address(addr, ""))
    if not to:
        raise DeliveryError(
            "no recipient of this notice has an e-mail address: add email: to the people "
            "in the inventory, or to: to the channel",
            permanent=True,
        )
    name, from_addr = parseaddr(sender)
    msg = EmailMessage()
    msg["Subject"] = " ".join(notice.title.split())  # a line break would be a new header
    msg["From"] = _address(from_addr or sender, name)
    msg["To"] = list(to.values())
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain=(from_addr or sender).rpartition("@")[2] or None)
    msg["X-Mailer"] = f"weibao {__version__}"
    if notice.ticket:
        msg["X-Weibao-Ticket"] = notice.ticket
    msg.set_content(plain_text(notice) + "\n", charset="utf-8")
    if attachment is not None:
        maintype, _, subtype = attachment.media_type.partition(";")[0].strip().partition("/")
        msg.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
            params={"name": attachment.filename},  # what older mail clients read
        )
    return msg


def _address(addr: str, name: str) -> Address:
    user, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


class EmailSender:
    """Sends notices through the configured relay, logging in when a username is set."""

    def __init__(
        self,
        channel: str,
        smtp: SmtpSettings,
        password: str | None = None,
        *,
        to: list[str] | None = None,
        clock: Clock | None = None,
        render_report: RenderReport | None = None,
    ) -> None:
        self.channel = channel
        self._render_report = render_report
        self._smtp = smtp
        self._password = password
        self._to = list(to or [])
        self._clock = clock or SystemClock()
        self._where = f"SMTP server {smtp.host}:{smtp.effective_port}"

    def __repr__(self) -> str:
        return f"EmailSender(channel={self.channel!r}, host={self._smtp.host!r})"

    def send(self, notice: Notice) -> None:
        attachment = None if notice.report is None else self._render(notice.report)
        msg = build_message(notice, self._smtp.sender, self._to, self._clock, attachment)
        try:
            with self._connect() as conn:
                if self._smtp.username and self._password is not None:
                    conn.login(self._smtp.username, self._password)
                refused = conn.send_message(msg, from_addr=self._smtp.from_address)
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(
                f"{self._where} refused the login of {self._smtp.username}: "
                f"{exc.smtp_code} {_said(exc.smtp_error)}; check the username and the password"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            listed = ", ".join(f"{a} ({c} {_said(m)})" for a, (c, m) in exc.recipients.items())
            permanent = all(code >= 500 for code in codes)
            raise self._error(
                f"{self._where} refused every recipient: {listed}", permanent
            ) from None
        except smtplib.SMTPResponseException as exc:
            said = _said(exc.smtp_error)
            raise self._error(f"{self._where} answered {exc.smtp_code} {said}") from None
        except smtplib.SMTPServerDisconnected:
            raise self._error(f"{self._where} closed the connection") from None
        except smtplib.SMTPNotSupportedError as exc:
            hint = "remove smtp.username and smtp.password, or use the port and security "
            hint += "under which the relay offers a login"
            raise self._error(f"{self._where}: {exc}; {hint}") from None
        except ssl.SSLError as exc:
            hint = "; if the relay uses a private CA, set smtp.ca_file"
            raise self._error(f"TLS with {self._where} failed: {exc.reason or exc}{hint}") from None
        except TimeoutError:
            timeout = self._smtp.timeout.total_seconds()
            raise self._error(f"no answer from {self._where} within {timeout:g}s") from None
        except OSError as exc:
            raise self._error(f"cannot connect to {self._where}: {exc.strerror or exc}") from None
        if refused:
            # Some got it: retrying would send them a second copy, so this is final.
            listed = ", ".join(f"{a} ({c} {_said(m)})" for a, (c, m) in refused.items())
            raise self._error(f"{self._where} refused some recipients: {listed}", permanent=True)

    def _render(self, request: ReportRequest) -> Attachment:
        """The report, built now; a request that cannot be built is not retried. Any other
        failure reaches the dispatcher, which records it and retries the notice."""
        if self._render_report is None:
            raise DeliveryError(
                f"channel {self.channel} was given a report to send but this desk cannot "
                "render reports here; send it from `weibao serve`, which wires the renderer",
                permanent=True,
            )
        try:
            return self._render_report(request)
        except WeibaoError as exc:
            raise DeliveryError(
                f"the {request.kind} report {request.period} cannot be built: {exc}",
                permanent=True,
            ) from None

    def _connect(self) -> smtplib.SMTP:
        s = self._smtp
        timeout = s.timeout.total_seconds()
        context = ssl.create_default_context(cafile=s.ca_file)
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.effective_port, timeout=timeout, context=context)
        conn = smtplib.SMTP(s.host, s.effective_port, timeout=timeout)
        try:
            if s.security == "starttls":
                conn.ehlo()
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        f"{self._where} does not offer STARTTLS; set security: ssl or none "
                        "as the relay requires"
                    )
                conn.starttls(context=context)
                conn.ehlo()
        except BaseException:
            conn.close()
            raise
        return conn

    def _error(self, reason: str, permanent: bool = False) -> DeliveryError:
        return DeliveryError(scrub(reason, [self._password or ""]), permanent=permanent)


def _said(text: bytes | str) -> str:
    """What the server said, as one short line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(text.split())[:200]
