"""The message formats of the group robots, and how each says "refused".

Each format turns a notice into one HTTP request (:class:`Outgoing`) and reads the
robot's answer. The robots answer HTTP 200 even when they refuse a message and put
the verdict in the JSON (WeCom and DingTalk ``errcode``, Feishu ``code``), so a 200 is
not a delivery until :meth:`WebhookFormat.check` says so.

Signing, where the platform has it, follows the platform's documentation:

- DingTalk: ``timestamp`` (ms) and ``sign`` query parameters, where sign is
  base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")).
- Feishu/Lark: ``timestamp`` (s) and ``sign`` in the body, where sign is
  base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg="")).
- generic webhook: headers ``X-Weibao-Timestamp`` (s) and ``X-Weibao-Signature:
  sha256=<hex>``, the HMAC-SHA256 of ``"{timestamp}.{body}"`` with the secret, so the
  receiver can check both origin and freshness.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from desk.notify.errors import DeliveryError
from desk.notify.message import Notice
from desk.notify.render import LINK_LABEL, markdown, plain_text, recipient_names
from weibao.levels import Level


@dataclass(frozen=True)
class Outgoing:
    """One POST: where, what (JSON bytes) and which extra headers."""

    url: str
    body: bytes
    headers: dict[str, str]


class WebhookFormat(Protocol):
    @property
    def platform(self) -> str:
        """How reasons name the receiver: "WeCom", "DingTalk", ..."""
        ...

    def build(self, notice: Notice, url: str, secret: str | None, now: datetime) -> Outgoing:
        """The request that posts ``notice``; signed when ``secret`` is set."""
        ...

    def check(self, answer: bytes) -> None:
        """Raise DeliveryError when a 2xx answer still says the message was refused."""
        ...


def to_json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac_sha256(secret.encode(), f"{timestamp_ms}\n{secret}".encode())
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac_sha256(f"{timestamp_s}\n{secret}".encode(), b"")
    return base64.b64encode(digest).decode()


def generic_sign(secret: str, timestamp_s: int, body: bytes) -> str:
    return "sha256=" + hmac_sha256(secret.encode(), f"{timestamp_s}.".encode() + body).hex()


def _json_answer(platform: str, answer: bytes) -> dict[str, Any]:
    try:
        data = json.loads(answer)
    except ValueError:
        raise DeliveryError(f"{platform} answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise DeliveryError(f"{platform} answered JSON that is not an object")
    return data


def _refused(platform: str, field: str, code: Any, message: Any) -> DeliveryError:
    reason = f"{platform} refused the message: {field} {code}"
    text = str(message or "")[:200]
    return DeliveryError(f"{reason} ({text})" if text else reason)


def _json_request(url: str, payload: Any, headers: dict[str, str] | None = None) -> Outgoing:
    return Outgoing(url, to_json_bytes(payload), headers or {})


@dataclass(frozen=True)
class JsonFormat:
    """The notice itself as JSON, for anything that takes a webhook (``type: webhook``)."""

    platform: str = "webhook"

    def build(self, notice: Notice, url: str, secret: str | None, now: datetime) -> Outgoing:
        body = to_json_bytes(notice.to_json())
        headers = {}
        if secret:
            ts = int(now.timestamp())
            headers = {
                "X-Weibao-Timestamp": str(ts),
                "X-Weibao-Signature": generic_sign(secret, ts, body),
            }
        return Outgoing(url, body, headers)

    def check(self, answer: bytes) -> None:
        return None


@dataclass(frozen=True)
class WecomFormat:
    """WeCom (企业微信) group robot: text mentions people by user id or mobile number."""

    style: str = "text"
    platform: str = "WeCom"

    def build(self, notice: Notice, url: str, secret: str | None, now: datetime) -> Outgoing:
        ids = [r.wecom for r in notice.recipients if r.wecom]
        phones = [r.phone for r in notice.recipients if r.phone]
        if self.style == "markdown":
            # Markdown messages have no mention lists; <@userid> in the text mentions.
            tags = " ".join(f"<@{i}>" for i in ids)
            content = markdown(notice, 4096, mentions=tags)
            return _json_request(url, {"msgtype": "markdown", "markdown": {"content": content}})
        text: dict[str, Any] = {"content": plain_text(notice, 2048)}
        if ids:
            text["mentioned_list"] = ids
        if phones:
            text["mentioned_mobile_list"] = phones
        return _json_request(url, {"msgtype": "text", "text": text})

    def check(self, answer: bytes) -> None:
        data = _json_answer(self.platform, answer)
        if data.get("errcode") != 0:
            raise _refused(self.platform, "errcode", data.get("errcode"), data.get("errmsg"))


@dataclass(frozen=True)
class DingtalkFormat:
    """DingTalk (钉钉) custom robot; mentions by mobile number, ``@phone`` in the text."""

    style: str = "markdown"
    platform: str = "DingTalk"

    def build(self, notice: Notice, url: str, secret: str | None, now: datetime) -> Outgoing:
        phones = [r.phone for r in notice.recipients if r.phone]
        tags = " ".join(f"@{p}" for p in phones)
        at = {"atMobiles": phones, "isAtAll": False}
        payload: dict[str, Any]
        if self.style == "text":
            content = plain_text(notice, 18000, mentions=tags)
            payload = {"msgtype": "text", "text": {"content": content}, "at": at}
        else:
            text = markdown(notice, 18000, mentions=tags)
            md = {"title": notice.title[:100], "text": text}
            payload = {"msgtype": "markdown", "markdown": md, "at": at}
        if secret:
            ts = int(now.timestamp() * 1000)
            signed = httpx.URL(url).copy_merge_params(
                {"timestamp": str(ts), "sign": dingtalk_sign(secret, ts)}
            )
            url = str(signed)
        return _json_request(url, payload)

    def check(self, answer: bytes) -> None:
        data = _json_answer(self.platform, answer)
        if data.get("errcode") != 0:
            raise _refused(self.platform, "errcode", data.get("errcode"), data.get("errmsg"))


_FEISHU_COLOURS = {Level.I: "red", Level.II: "orange", Level.III: "yellow", Level.IV: "blue"}


@dataclass(frozen=True)
class FeishuFormat:
    """Feishu/Lark (飞书) custom bot: an interactive card coloured by level, or text."""

    style: str = "card"
    platform: str = "Feishu"

    def build(self, notice: Notice, url: str, secret: str | None, now: datetime) -> Outgoing:
        payload: dict[str, Any]
        if self.style == "text":
            payload = {"msg_type": "text", "content": {"text": plain_text(notice, 20000)}}
        else:
            payload = {"msg_type": "interactive", "card": self._card(notice)}
        if secret:
            ts = int(now.timestamp())
            payload = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **payload}
        return _json_request(url, payload)

    def _card(self, notice: Notice) -> dict[str, Any]:
        facts = "\n".join(f"**{k}**: {v}" for k, v in notice.facts.items())
        people = f"To: {recipient_names(notice)}" if notice.recipients else ""
        content = "\n\n".join(p for p in (notice.body.strip(), facts, people) if p)
        elements: list[dict[str, Any]] = [
            {"tag": "div", "text": {"tag": "lark_md", "content": content[:10000]}}
        ]
        if notice.url:
            button = {
                "tag": "button",
                "text": {"tag": "plain_text", "content": LINK_LABEL},
                "url": notice.url,
                "type": "primary",
            }
            elements.append({"tag": "action", "actions": [button]})
        colour = _FEISHU_COLOURS[notice.level] if notice.level else "grey"
        return {
            "config": {"wide_screen_mode": True},
            "header": {
                "template": colour,
                "title": {"tag": "plain_text", "content": notice.title[:200]},
            },
            "elements": elements,
        }

    def check(self, answer: bytes) -> None:
        data = _json_answer(self.platform, answer)
        # The v2 hook answers {"code": 0, ...}; older deployments {"StatusCode": 0, ...}.
        code = data.get("code", data.get("StatusCode"))
        if code != 0:
            raise _refused(self.platform, "code", code, data.get("msg"))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class SlackFormat:
    """Slack incoming webhook: ``text`` for the phone notification, ``blocks`` for the view."""

    style: str = "blocks"
    platform: str = "Slack"

    def build(self, notice: Notice, url: str, secret: str | None, now: datetime) -> Outgoing:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150]}}
        ]
        if notice.body.strip():
            body = _slack_escape(notice.body.strip())[:3000]
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
        fields = [
            {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"[:2000]}
            for k, v in list(notice.facts.items())[:10]
        ]
        if fields:
            blocks.append({"type": "section", "fields": fields})
        if notice.recipients:
            to = _slack_escape(f"To: {recipient_names(notice)}")
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": to}]})
        if notice.url:
            link = f"<{notice.url}|{LINK_LABEL}>"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
        text = _slack_escape(plain_text(notice, 3000))
        return _json_request(url, {"text": text, "blocks": blocks})

    def check(self, answer: bytes) -> None:
        return None  # Slack says "ok" with 200 and refuses with 4xx, which the sender reads


FORMATS: dict[str, Callable[[str], WebhookFormat]] = {
    "webhook": lambda style: JsonFormat(),
    "wecom": lambda style: WecomFormat(style),
    "dingtalk": lambda style: DingtalkFormat(style),
    "feishu": lambda style: FeishuFormat(style),
    "slack": lambda style: SlackFormat(style),
}
"""Webhook channel types by name; e-mail is :mod:`desk.notify.mail`."""


def make_format(channel_type: str, style: str) -> WebhookFormat:
    try:
        return FORMATS[channel_type](style)
    except KeyError:
        raise ValueError(f"no webhook format for channel type {channel_type!r}") from None
