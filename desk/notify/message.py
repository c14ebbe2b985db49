"""A notice: what the desk has to tell people, independent of how it travels.

The desk builds a :class:`Notice` when something happens to a ticket and stores it in
the outbox as JSON (:meth:`Notice.to_json`); the dispatcher reads it back
(:meth:`Notice.from_json`) and hands it to each channel's sender, which renders it in
its own format. Everything here is plain data, so a notice survives a desk restart.

A scheduled report travels as a notice too (kinds ``report.inspection`` and
``report.quarterly``) carrying a :class:`ReportRequest`: which report, not the report
itself. The e-mail sender builds and renders it when it sends, so the outbox stays
small and a retry sends what the desk knows then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast, get_args

from weibao.inventory.model import Person
from weibao.inventory.notify import NoticeKind
from weibao.levels import Level

__all__ = ["Notice", "NoticeKind", "Recipient", "ReportRequest", "make_test_notice"]

ReportKind = Literal["inspection", "quarterly"]
ReportFormat = Literal["pdf", "html", "xlsx", "json"]
ReportLanguage = Literal["zh", "en"]


@dataclass(frozen=True)
class Recipient:
    """Someone a notice is for, with every address a channel may use to reach them."""

    name: str
    email: str | None = None
    phone: str | None = None
    wecom: str | None = None

    @classmethod
    def of(cls, person: Person) -> Recipient:
        return cls(name=person.name, email=person.email, phone=person.phone, wecom=person.wecom)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recipient:
        return cls(
            name=_text(data, "name"),
            email=_optional(data, "email"),
            phone=_optional(data, "phone"),
            wecom=_optional(data, "wecom"),
        )


@dataclass(frozen=True)
class ReportRequest:
    """A report to build and attach: kind, scope, period label, format and language.

    ``period`` is a label :func:`desk.reports.periods.parse_period` reads back
    (``2026-11``, ``2026-Q4``); an inspection report names its ``customer`` (and may name
    one ``contract``); quarterly statistics without a customer are the company's.
    """

    kind: ReportKind
    period: str
    customer: str | None = None
    contract: str | None = None
    format: ReportFormat = "pdf"
    language: ReportLanguage = "zh"

    def __post_init__(self) -> None:
        _choice("report.kind", self.kind, ReportKind)
        _choice("report.format", self.format, ReportFormat)
        _choice("report.language", self.language, ReportLanguage)
        if not self.period.strip():
            raise ValueError("report field 'period' must be a non-empty string")
        if self.kind == "inspection" and not self.customer:
            raise ValueError("an inspection report request must name its customer")

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportRequest:
        if not isinstance(data, Mapping):
            raise ValueError("notice field 'report' must be an object")
        return cls(
            kind=cast(ReportKind, _text(data, "kind")),
            period=_text(data, "period"),
            customer=_optional(data, "customer"),
            contract=_optional(data, "contract"),
            format=cast(ReportFormat, _optional(data, "format") or "pdf"),
            language=cast(ReportLanguage, _optional(data, "language") or "zh"),
        )


@dataclass(frozen=True)
class Notice:
    """One message about one event, for a few people.

    ``title`` is one line (``[II] WB-2026-000123 ht-core-sw-1: fan failed``), ``body`` a
    few plain-text lines; ``facts`` are short labelled values (device, site, due times)
    that formats show as a list or table.
    """

    kind: NoticeKind
    title: str
    body: str
    recipients: tuple[Recipient, ...] = ()
    ticket: str | None = None
    level: Level | None = None
    customer: str | None = None
    url: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)
    report: ReportRequest | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; also the body of the generic webhook."""
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "title": self.title,
            "body": self.body,
            "recipients": [r.to_json() for r in self.recipients],
            "ticket": self.ticket,
            "level": None if self.level is None else self.level.value,
            "customer": self.customer,
            "url": self.url,
            "facts": dict(self.facts),
        }
        if self.report is not None:  # only then: ticket notices keep their webhook shape
            data["report"] = self.report.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        """The notice :meth:`to_json` wrote; ValueError naming the field when it is not one."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a notice is a JSON object, not {type(data).__name__}")
        try:
            kind = NoticeKind(str(data.get("kind")))
        except ValueError:
            raise ValueError(f"notice kind {data.get('kind')!r} is unknown") from None
        level = data.get("level")
        recipients = data.get("recipients") or []
        facts = data.get("facts") or {}
        if not isinstance(recipients, list) or not all(isinstance(r, Mapping) for r in recipients):
            raise ValueError("notice recipients must be a list of objects")
        if not isinstance(facts, Mapping):
            raise ValueError("notice facts must be an object")
        return cls(
            kind=kind,
            title=_text(data, "title"),
            body=_text(data, "body", empty_ok=True),
            recipients=tuple(Recipient.from_json(r) for r in recipients),
            ticket=_optional(data, "ticket"),
            level=None if level is None else Level.parse(level),
            customer=_optional(data, "customer"),
            url=_optional(data, "url"),
            facts={str(k): str(v) for k, v in facts.items()},
            report=None if data.get("report") is None else ReportRequest.from_json(data["report"]),
        )


def make_test_notice(channel: str, now: datetime, recipients: tuple[Recipient, ...] = ()) -> Notice:
    """A harmless notice to try a channel with (``kind`` test goes past every filter)."""
    stamp = now.isoformat(timespec="seconds")
    return Notice(
        kind=NoticeKind.test,
        title=f"weibao test message for channel {channel}",
        body=f"If you read this, channel {channel} works. Sent at {stamp}.\n"
        f"测试消息：通知渠道 {channel} 工作正常。",
        recipients=recipients,
        facts={"channel": channel, "sent at": stamp},
    )


def _choice(name: str, value: object, choices: Any) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")


def _text(data: Mapping[str, Any], key: str, empty_ok: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value and not empty_ok):
        raise ValueError(f"notice field {key!r} must be a non-empty string")
    return value


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"notice field {key!r} must be a string or null")
    return value
