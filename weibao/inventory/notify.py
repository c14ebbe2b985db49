"""The inventory's ``notifications:`` section: where the desk sends word of tickets.

Channels are group-chat robots (WeCom, DingTalk, Feishu, Slack), a generic JSON webhook,
or e-mail over the ``smtp`` relay. A webhook URL embeds its robot's key, so it is a
secret reference like every credential of the inventory, never written in the file.

Its fields are read with the schema's shared readers (:mod:`weibao.inventory.values`);
:mod:`weibao.inventory.model` imports this module and this module imports nothing of the
model.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from weibao.durations import format_duration, parse_duration
from weibao.inventory.values import InvalidValue, did_you_mean, to_secret
from weibao.levels import Level
from weibao.secrets import SecretRef


class NoticeKind(StrEnum):
    """What happened; channels filter on these names (``events:``)."""

    ticket_opened = "ticket.opened"
    ticket_level_raised = "ticket.level_raised"
    ticket_assigned = "ticket.assigned"
    ticket_assist_requested = "ticket.assist_requested"
    ticket_referred = "ticket.referred"
    ticket_escalated = "ticket.escalated"
    ticket_recovered = "ticket.recovered"
    ticket_reopened = "ticket.reopened"
    followup_due = "followup.due"
    report_inspection = "report.inspection"
    report_quarterly = "report.quarterly"
    test = "test"

    @property
    def is_report(self) -> bool:
        """A scheduled report (sent with the report attached), not news of a ticket."""
        return self.value.startswith("report.")


ChannelType = Literal["webhook", "wecom", "dingtalk", "feishu", "slack", "email"]

FORMATS: dict[str, tuple[str, ...]] = {
    "webhook": ("json",),
    "wecom": ("text", "markdown"),
    "dingtalk": ("markdown", "text"),
    "feishu": ("card", "text"),
    "slack": ("blocks",),
    "email": ("text",),
}
"""The message formats each channel type can send; the first is the default."""

SIGNED_TYPES = ("webhook", "dingtalk", "feishu")
"""Channel types that sign their requests when ``secret`` is set."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _invalid(message: str, hint: str) -> ValueError:
    return InvalidValue(message, hint)


def _to_secret(value: Any) -> SecretRef:
    return to_secret(value)


def _to_duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _invalid(
            str(exc).split(": write")[0], "write a duration such as 30s, 20m, 4h, 3d or 1h30m"
        ) from None


def _to_level(value: Any) -> Level:
    try:
        return value if isinstance(value, Level) else Level.parse(value)
    except ValueError:
        raise _invalid(
            f"unknown fault level {value!r}",
            "fault levels are I, II, III and IV (I is the most severe)",
        ) from None


def _to_kind(value: Any) -> NoticeKind:
    try:
        return NoticeKind(value)
    except ValueError:
        names = [k.value for k in NoticeKind]
        near = did_you_mean(str(value), names)
        hint = "events are: " + ", ".join(names)
        raise _invalid(f"unknown event {value!r}", f"{near} ({hint})" if near else hint) from None


def _listify(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


Secret = Annotated[SecretRef, BeforeValidator(_to_secret), PlainSerializer(str, return_type=str)]
Duration = Annotated[
    timedelta, BeforeValidator(_to_duration), PlainSerializer(format_duration, return_type=str)
]
LevelValue = Annotated[Level, BeforeValidator(_to_level)]
EventName = Annotated[NoticeKind, BeforeValidator(_to_kind)]


class _Strict(BaseModel):
    # The same settings as the inventory's models: an unknown key is an error.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise _invalid(f"{value!r} is not an e-mail address", "write e.g. noc@example.cn")
    return value


class ChannelSettings(_Strict):
    """One place notices go: a group robot, a JSON webhook, or e-mail."""

    name: str = Field(description="unique; appears in logs and metrics")
    type: ChannelType
    url: Secret | None = Field(default=None, description="webhook URL (it embeds the key)")
    secret: Secret | None = Field(default=None, description="signing secret (DingTalk, Feishu)")
    format: str | None = Field(default=None, description="message format; see FORMATS")
    events: Annotated[list[EventName], BeforeValidator(_listify)] = Field(
        default_factory=list, description="notice kinds sent here; none = all"
    )
    levels: Annotated[list[LevelValue], BeforeValidator(_listify)] = Field(
        default_factory=list, description="fault levels sent here; none = all"
    )
    to: Annotated[list[str], BeforeValidator(_listify)] = Field(
        default_factory=list, description="e-mail: addresses that get every notice"
    )
    timeout: Duration = Field(default=timedelta(seconds=10), description="per request")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise _invalid(
                f"{value!r} is not a valid channel name",
                "use letters, digits, '.', '_' and '-', at most 64 characters, e.g. ops-wecom",
            )
        return value

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        return [_check_email(v) for v in value]

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=2):
            raise _invalid("timeout must be between 1s and 2m", "10s is the default")
        return value

    @model_validator(mode="after")
    def _shape(self) -> ChannelSettings:
        formats = FORMATS[self.type]
        if self.format is not None and self.format not in formats:
            raise _invalid(
                f"a {self.type} channel cannot send format {self.format!r}",
                "use one of: " + ", ".join(formats),
            )
        if self.type == "email":
            if self.url is not None or self.secret is not None:
                raise _invalid(
                    "an email channel has no url or secret",
                    "remove them; the mail server is set under notifications.smtp",
                )
        else:
            if self.url is None:
                raise _invalid(
                    f"a {self.type} channel needs its webhook URL",
                    "add url: env:NAME (or file:/path) holding the URL the robot's settings "
                    "show; it embeds the robot's key, so it never goes into the inventory",
                )
            if self.to:
                raise _invalid("only email channels have `to`", "remove `to` from this channel")
            if self.secret is not None and self.type not in SIGNED_TYPES:
                raise _invalid(
                    f"a {self.type} channel does not sign its requests",
                    "remove `secret`; signing exists for: " + ", ".join(SIGNED_TYPES),
                )
        return self

    @property
    def message_format(self) -> str:
        """The format to send: the one set, or the type's default."""
        return self.format or FORMATS[self.type][0]

    def accepts(self, kind: str, level: Level | None) -> bool:
        """Whether a notice of ``kind`` and ``level`` goes to this channel.

        A ``test`` notice goes everywhere (it exists to try a channel), and a notice with
        no level passes a level filter (it is not about a fault of some other level).
        """
        if kind == NoticeKind.test:
            return True
        if self.events and kind not in self.events:
            return False
        return not (self.levels and level is not None and level not in self.levels)


class SmtpSettings(_Strict):
    """The mail relay every email channel sends through."""

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="default by security")
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    sender: str = Field(description="From: address, e.g. 'weibao <noc@example.cn>'")
    ca_file: str | None = Field(default=None, description="PEM CA bundle for a private CA")
    timeout: Duration = Field(default=timedelta(seconds=30))

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        _check_email(parseaddr(value)[1] or value)
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise _invalid(f"ca_file {value!r} is not an absolute path", "write e.g. /etc/ssl/x")
        return value

    @model_validator(mode="after")
    def _login(self) -> SmtpSettings:
        if (self.username is None) != (self.password is None):
            raise _invalid(
                "SMTP login needs both username and password",
                "add the missing one, or remove both to send without logging in",
            )
        if self.password is not None and self.security == "none":
            raise _invalid(
                "the SMTP password would cross the network unencrypted",
                "set security: starttls (port 587) or ssl (port 465)",
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"none": 25, "starttls": 587, "ssl": 465}[self.security]

    @property
    def from_address(self) -> str:
        return parseaddr(self.sender)[1] or self.sender


class RetrySettings(_Strict):
    """How a failed delivery is retried: ``first``, doubling up to ``max_delay``."""

    first: Duration = Field(default=timedelta(seconds=30))
    max_delay: Duration = Field(default=timedelta(minutes=30))
    max_attempts: int = Field(default=10, ge=1, le=50)

    @model_validator(mode="after")
    def _order(self) -> RetrySettings:
        if self.first <= timedelta(0) or self.max_delay < self.first:
            raise _invalid(
                "retry delays must be positive, with max_delay not below first",
                "e.g. first: 30s, max_delay: 30m",
            )
        return self


class NotificationSettings(_Strict):
    base_url: str | None = Field(default=None, description="the desk's address, for links")
    smtp: SmtpSettings | None = None
    retry: RetrySettings = Field(default_factory=RetrySettings)
    channels: list[ChannelSettings] = Field(default_factory=list)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _invalid(
                f"{value!r} is not an http(s) address",
                "write the address engineers open the desk at, e.g. https://weibao.example.cn",
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _whole(self) -> NotificationSettings:
        seen: set[str] = set()
        for channel in self.channels:
            if channel.name in seen:
                raise _invalid(
                    f"channel name {channel.name!r} is used twice",
                    "channel names are unique (logs and metrics use them): rename one",
                )
            seen.add(channel.name)
        mail = [c.name for c in self.channels if c.type == "email"]
        if mail and self.smtp is None:
            raise _invalid(
                f"channel {mail[0]!r} sends e-mail but notifications.smtp is not set",
                "add smtp: with host and sender (see docs/notifications.md)",
            )
        return self

    def channels_for(self, kind: str, level: Level | None) -> list[ChannelSettings]:
        """The channels a notice of ``kind`` (and ``level``) goes to, in file order."""
        return [c for c in self.channels if c.accepts(kind, level)]

    def channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.name == name), None)
