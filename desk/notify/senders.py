"""From the inventory's ``notifications:`` section to one ready sender per channel.

Secret references (webhook URLs, signing secrets, the SMTP password) are resolved here,
once, when the desk starts: a missing variable or file stops the start with every
problem named by channel, instead of failing the first notice of the night.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from desk.notify.dispatcher import Backoff, Dispatcher, Outbox, Sender
from desk.notify.formats import make_format
from desk.notify.mail import EmailSender, RenderReport
from desk.notify.webhook import WebhookSender
from weibao.clock import Clock, SystemClock
from weibao.errors import ConfigError, Problem, SecretMissing
from weibao.inventory.notify import ChannelSettings, NotificationSettings
from weibao.secrets import SecretRef


def build_senders(
    settings: NotificationSettings,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    source: str = "inventory",
    render_report: RenderReport | None = None,
) -> dict[str, Sender]:
    """A sender per channel, by channel name; ConfigError listing every unreadable secret.

    ``environ`` is where ``env:`` references are read (default: the process environment);
    ``transport`` replaces the network for every webhook (tests); ``source`` names the
    inventory file in error messages; ``render_report`` is how e-mail channels build the
    report a scheduled-report notice asks for (the desk passes its report builder).
    """
    clock = clock or SystemClock()
    problems: list[Problem] = []

    def read(ref: SecretRef, path: str, what: str) -> str | None:
        try:
            return ref.resolve(environ)
        except SecretMissing as exc:
            problems.append(Problem(source, None, path, str(exc), _hint(ref, what)))
            return None

    senders: dict[str, Sender] = {}
    smtp = settings.smtp
    smtp_password: str | None = None
    if smtp is not None and smtp.password is not None and _uses_email(settings):
        smtp_password = read(smtp.password, "notifications.smtp.password", "the SMTP password")
    for channel in settings.channels:
        path = f"notifications.channels[{channel.name}]"
        if channel.type == "email":
            assert smtp is not None  # NotificationSettings refuses email without smtp
            senders[channel.name] = EmailSender(
                channel.name,
                smtp,
                smtp_password,
                to=channel.to,
                clock=clock,
                render_report=render_report,
            )
            continue
        assert channel.url is not None  # ChannelSettings refuses a webhook without url
        url = read(channel.url, f"{path}.url", f"the webhook URL of channel {channel.name}")
        secret = None
        if channel.secret is not None:
            what = f"the signing secret of channel {channel.name}"
            secret = read(channel.secret, f"{path}.secret", what)
        if url is None:
            continue
        if not _is_http_url(url):
            problems.append(_bad_url(source, path, channel))
            continue
        senders[channel.name] = WebhookSender(
            channel.name,
            url,
            make_format(channel.type, channel.message_format),
            secret=secret,
            timeout=channel.timeout.total_seconds(),
            clock=clock,
            transport=transport,
        )
    if problems:
        raise ConfigError(problems)
    return senders


def build_dispatcher(
    outbox: Outbox,
    settings: NotificationSettings,
    clock: Clock,
    *,
    senders: Mapping[str, Sender] | None = None,
    logger: logging.Logger | None = None,
    render_report: RenderReport | None = None,
) -> Dispatcher:
    """The dispatcher with the retry policy of ``settings.retry`` (senders built if not given)."""
    retry = settings.retry
    if senders is None:
        senders = build_senders(settings, clock=clock, render_report=render_report)
    return Dispatcher(
        outbox,
        senders,
        clock,
        max_attempts=retry.max_attempts,
        backoff=Backoff(first=retry.first, cap=retry.max_delay),
        logger=logger,
    )


def _uses_email(settings: NotificationSettings) -> bool:
    return any(c.type == "email" for c in settings.channels)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _bad_url(source: str, path: str, channel: ChannelSettings) -> Problem:
    # The value is the secret: say where it came from, never what it is.
    return Problem(
        source,
        None,
        f"{path}.url",
        f"{channel.url} does not hold an http(s) URL",
        "put the whole webhook URL there, starting with https://, as the robot's settings show it",
    )


def _hint(ref: SecretRef, what: str) -> str:
    if ref.kind == "env":
        return (
            f"set {ref.target} to {what} in weibao's environment (e.g. the EnvironmentFile "
            "of weibao-desk.service)"
        )
    return f"write {what} into {ref.target}, readable by the weibao user only (chmod 600)"
