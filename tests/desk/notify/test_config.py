"""The inventory's notifications section: loader errors at FILE:LINE, routing, and turning
the section into senders with every secret resolved (or every missing one named)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from desk.notify.errors import DeliveryError
from desk.notify.mail import EmailSender
from desk.notify.message import Notice
from desk.notify.senders import build_dispatcher, build_senders
from desk.notify.webhook import WebhookSender
from tests.desk.notify.conftest import KEY, START, sample_notice
from tests.desk.notify.outbox import MemoryOutbox
from weibao.clock import FrozenClock
from weibao.errors import ConfigError
from weibao.inventory.loader import check_inventory, load_inventory
from weibao.inventory.notify import NotificationSettings
from weibao.levels import Level

HEAD = """\
customers:
  - name: Acme
    contracts:
      - id: C-1
        name: Acme 2026
        start: 2026-01-01
        end: 2026-12-31
        service_manager: {name: 王磊, email: wang.lei@example.cn, wecom: wanglei}
notifications:
  base_url: https://weibao.example.cn/
"""
# The lines of a section written after HEAD start at line 11.


def inventory(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(section), "  "), encoding="utf-8")
    return path


def settings(data: dict[str, Any]) -> NotificationSettings:
    return NotificationSettings.model_validate(data)


GOOD = """\
smtp:
  host: 127.0.0.1
  sender: weibao <noc@example.cn>
retry: {first: 10s, max_delay: 10m, max_attempts: 5}
channels:
  - name: ops-wecom
    type: wecom
    url: env:WEIBAO_WECOM_URL
    levels: [I, II]
  - name: managers-ding
    type: dingtalk
    url: env:WEIBAO_DING_URL
    secret: file:/etc/weibao/ding.secret
    events: [ticket.escalated]
  - name: mail
    type: email
    to: noc@example.cn
"""


def test_a_good_section_loads(tmp_path: Path) -> None:
    loaded = load_inventory(inventory(tmp_path, GOOD))
    notify = loaded.notifications
    assert notify.base_url == "https://weibao.example.cn"
    assert [c.name for c in notify.channels] == ["ops-wecom", "managers-ding", "mail"]
    assert notify.channels[0].message_format == "text"
    assert notify.channels[1].message_format == "markdown"
    assert notify.channels[2].to == ["noc@example.cn"]
    assert notify.smtp is not None and notify.smtp.effective_port == 587
    assert notify.retry.max_attempts == 5


def test_without_the_section_nothing_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(HEAD.split("notifications:")[0], encoding="utf-8")
    assert load_inventory(path).notifications.channels == []


def test_bad_channel_type_is_reported_at_its_line(tmp_path: Path) -> None:
    path = inventory(
        tmp_path,
        """\
        channels:
          - name: ops
            type: wechat
            url: env:X
        """,
    )
    _, problems = check_inventory(path, environ={})
    (problem,) = problems
    assert problem.format().splitlines() == [
        f"{path}:13: notifications.channels[ops].type: type 'wechat' is not one of the "
        "allowed values",
        "    hint: use one of: webhook, wecom, dingtalk, feishu, slack, email",
    ]


def test_literal_webhook_url_is_refused_without_repeating_it(tmp_path: Path) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    path = inventory(
        tmp_path,
        f"""\
        channels:
          - name: ops
            type: wecom
            url: {url}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (14, "notifications.channels[ops].url")
    assert problem.message == "a literal secret is written here; only references are allowed"
    assert "env:NAME" in problem.hint
    assert KEY not in str(info.value)


def test_section_errors_each_at_its_line(tmp_path: Path) -> None:
    path = inventory(
        tmp_path,
        """\
        smtp: {host: mail.example.cn, sender: noc@example.cn, password: env:P, username: noc,
               security: none}
        channels:
          - name: ops
            type: slack
            url: env:X
            levles: [I]
          - name: mgr
            type: dingtalk
            url: env:Y
            events: [ticket.escalate]
          - name: cards
            type: dingtalk
            url: env:Z
            format: card
        """,
    )
    _, problems = check_inventory(path, environ={})
    found = [(p.line, p.path, p.message) for p in problems]
    assert found == [
        (11, "notifications.smtp", "the SMTP password would cross the network unencrypted"),
        (17, "notifications.channels[ops].levles", "unknown key 'levles'"),
        (21, "notifications.channels[mgr].events[0]", "unknown event 'ticket.escalate'"),
        (22, "notifications.channels[cards]", "a dingtalk channel cannot send format 'card'"),
    ]
    hints = {p.path: p.hint for p in problems}
    assert hints["notifications.channels[ops].levles"].startswith("did you mean 'levels'?")
    assert hints["notifications.channels[mgr].events[0]"].startswith(
        "did you mean 'ticket.escalated'?"
    )
    assert hints["notifications.channels[cards]"] == "use one of: markdown, text"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"channels": [{"name": "a", "type": "wecom", "url": "env:A"}] * 2},
            "channel name 'a' is used twice",
        ),
        (
            {"channels": [{"name": "m", "type": "email"}]},
            "channel 'm' sends e-mail but notifications.smtp is not set",
        ),
        ({"channels": [{"name": "w", "type": "wecom"}]}, "a wecom channel needs its webhook URL"),
        (
            {"channels": [{"name": "s", "type": "slack", "url": "env:S", "secret": "env:T"}]},
            "a slack channel does not sign its requests",
        ),
        (
            {"channels": [{"name": "m", "type": "email", "url": "env:U"}]},
            "an email channel has no url or secret",
        ),
        ({"smtp": {"host": "h", "sender": "x", "timeout": "5s"}}, "'x' is not an e-mail address"),
        (
            {"smtp": {"host": "h", "sender": "a@b.cn", "username": "u"}},
            "SMTP login needs both username and password",
        ),
        ({"base_url": "weibao.example.cn"}, "'weibao.example.cn' is not an http(s) address"),
        ({"retry": {"first": "10m", "max_delay": "1m"}}, "retry delays must be positive"),
    ],
)
def test_invalid_settings(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(data)


def test_routing_by_events_and_levels() -> None:
    notify = settings(
        {
            "channels": [
                {"name": "all", "type": "webhook", "url": "env:A"},
                {"name": "severe", "type": "wecom", "url": "env:B", "levels": ["I", 2]},
                {"name": "esc", "type": "feishu", "url": "env:C", "events": "ticket.escalated"},
            ]
        }
    )

    def names(kind: str, level: Level | None) -> list[str]:
        return [c.name for c in notify.channels_for(kind, level)]

    assert names("ticket.opened", Level.I) == ["all", "severe"]
    assert names("ticket.opened", Level.III) == ["all"]
    assert names("ticket.escalated", Level.III) == ["all", "esc"]
    assert names("ticket.escalated", Level.II) == ["all", "severe", "esc"]
    assert names("followup.due", None) == ["all", "severe"]  # no level: level filters pass
    assert names("test", Level.IV) == ["all", "severe", "esc"]  # a test reaches every channel
    assert notify.channel("esc") is notify.channels[2]


# -- build_senders -------------------------------------------------------------------------


def test_build_senders_resolves_every_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "ding.secret"
    secret_file.write_text("SECabc\n", encoding="utf-8")
    notify = settings(
        {
            "smtp": {
                "host": "127.0.0.1",
                "sender": "noc@example.cn",
                "username": "noc",
                "password": "env:SMTP_PASS",
            },
            "channels": [
                {"name": "ops", "type": "wecom", "url": "env:WECOM_URL"},
                {
                    "name": "ding",
                    "type": "dingtalk",
                    "url": "env:DING_URL",
                    "secret": f"file:{secret_file}",
                },
                {"name": "mail", "type": "email"},
            ],
        }
    )
    environ = {
        "WECOM_URL": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        "DING_URL": "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456",
        "SMTP_PASS": "pw",
    }
    senders = build_senders(notify, environ=environ)
    assert isinstance(senders["ops"], WebhookSender)
    assert isinstance(senders["ding"], WebhookSender)
    assert isinstance(senders["mail"], EmailSender)
    assert KEY not in repr(senders)


def test_build_senders_names_every_missing_secret_by_channel() -> None:
    notify = settings(
        {
            "smtp": {
                "host": "127.0.0.1",
                "sender": "noc@example.cn",
                "username": "noc",
                "password": "env:SMTP_PASS",
            },
            "channels": [
                {"name": "ops", "type": "wecom", "url": "env:WECOM_URL"},
                {
                    "name": "ding",
                    "type": "dingtalk",
                    "url": "env:DING_URL",
                    "secret": "file:/nonexistent/ding.secret",
                },
                {"name": "mail", "type": "email"},
            ],
        }
    )
    with pytest.raises(ConfigError) as info:
        build_senders(notify, environ={"DING_URL": "not a url"}, source="/etc/weibao/inv.yaml")
    found = [(p.path, p.message) for p in info.value.problems]
    assert found == [
        (
            "notifications.smtp.password",
            "secret env:SMTP_PASS cannot be read: environment variable SMTP_PASS is not set",
        ),
        (
            "notifications.channels[ops].url",
            "secret env:WECOM_URL cannot be read: environment variable WECOM_URL is not set",
        ),
        (
            "notifications.channels[ding].secret",
            "secret file:/nonexistent/ding.secret cannot be read: file "
            "/nonexistent/ding.secret does not exist",
        ),
        ("notifications.channels[ding].url", "env:DING_URL does not hold an http(s) URL"),
    ]
    text = str(info.value)
    assert "/etc/weibao/inv.yaml: notifications.channels[ops].url:" in text
    assert "hint: set WECOM_URL to the webhook URL of channel ops" in text
    assert "not a url" not in text


class Down:
    def send(self, notice: Notice) -> None:
        raise DeliveryError("the relay is down")


def test_build_dispatcher_takes_the_retry_policy() -> None:
    notify = settings({"retry": {"first": "10s", "max_delay": "15s", "max_attempts": 3}})
    clock = FrozenClock(START)
    outbox = MemoryOutbox()
    item = outbox.put("mail", sample_notice(), clock.now())
    dispatcher = build_dispatcher(outbox, notify, clock, senders={"mail": Down()})
    waits = []
    while outbox.row(item).status == "pending":
        dispatcher.dispatch_once()
        next_at = outbox.row(item).next_at
        if next_at is not None:
            waits.append((next_at - clock.now()).total_seconds())
            clock.set(next_at)
    assert waits == [10, 15]  # 10 s, doubled but capped at 15 s, then the third attempt fails
    assert outbox.row(item).attempts == 3
