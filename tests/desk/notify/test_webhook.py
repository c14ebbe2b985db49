"""Webhook senders over real HTTP to a recording server on 127.0.0.1: each platform's
message shape, signatures recomputed here, mentions, refusals, and errors that never
carry the robot's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
from datetime import timedelta

import pytest

from desk.notify.errors import DeliveryError
from desk.notify.formats import make_format
from desk.notify.webhook import WebhookSender, origin, proxy_for
from tests.desk.notify.conftest import KEY, LI, START, sample_notice
from tests.desk.notify.hookserver import HANG, HookServer
from weibao.clock import FrozenClock
from weibao.levels import Level

SECRET = "SECd8f7a6b5c4e3f2a1b0c9d8e7f6a5b4c3"


def sender(
    hooks: HookServer,
    kind: str,
    style: str,
    clock: FrozenClock,
    *,
    url: str | None = None,
    secret: str | None = None,
    timeout: float = 5.0,
) -> WebhookSender:
    return WebhookSender(
        f"test-{kind}",
        url or hooks.url(f"/cgi-bin/webhook/send?key={KEY}"),
        make_format(kind, style),
        secret=secret,
        timeout=timeout,
        clock=clock,
    )


def failure(s: WebhookSender) -> str:
    with pytest.raises(DeliveryError) as info:
        s.send(sample_notice())
    reason = info.value.reason
    assert KEY not in reason and SECRET not in reason and KEY not in str(info.value)
    return reason


# -- generic JSON --------------------------------------------------------------------------


def test_generic_webhook_posts_the_notice_as_json(hooks: HookServer, clock: FrozenClock) -> None:
    notice = sample_notice()
    sender(hooks, "webhook", "json", clock).send(notice)
    (req,) = hooks.requests
    assert req.path == "/cgi-bin/webhook/send" and req.query == {"key": KEY}
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    assert req.json() == notice.to_json()
    assert req.json()["recipients"][0] == {
        "name": "张伟",
        "email": "zhang.wei@example.cn",
        "phone": "13800138000",
        "wecom": "zhangwei",
    }
    assert "x-weibao-signature" not in req.headers


def test_generic_webhook_signature_covers_timestamp_and_body(
    hooks: HookServer, clock: FrozenClock
) -> None:
    sender(hooks, "webhook", "json", clock, secret=SECRET).send(sample_notice())
    (req,) = hooks.requests
    ts = req.headers["x-weibao-timestamp"]
    assert int(ts) == int(clock.now().timestamp())
    expected = hmac.new(SECRET.encode(), f"{ts}.".encode() + req.body, hashlib.sha256)
    assert req.headers["x-weibao-signature"] == "sha256=" + expected.hexdigest()


# -- WeCom -------------------------------------------------------------------------------


def test_wecom_text_mentions_by_user_id_and_mobile(hooks: HookServer, clock: FrozenClock) -> None:
    sender(hooks, "wecom", "text", clock).send(sample_notice())
    (req,) = hooks.requests
    body = req.json()
    assert body["msgtype"] == "text"
    text = body["text"]
    assert text["content"].startswith("[II] WB-2026-000123 ht-core-sw-1: 风扇故障")
    assert "site: 上海总部" in text["content"]
    assert "https://weibao.example.cn/tickets/WB-2026-000123" in text["content"]
    assert text["mentioned_list"] == ["zhangwei"]
    assert text["mentioned_mobile_list"] == ["13800138000", "13900139000"]


def test_wecom_markdown_mentions_inline(hooks: HookServer, clock: FrozenClock) -> None:
    sender(hooks, "wecom", "markdown", clock).send(sample_notice())
    body = hooks.requests[0].json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**[II] WB-2026-000123")
    assert "- **device**: ht-core-sw-1" in content
    assert "<@zhangwei>" in content
    assert "(https://weibao.example.cn/tickets/WB-2026-000123)" in content


def test_wecom_text_stays_within_its_byte_limit(hooks: HookServer, clock: FrozenClock) -> None:
    long_body = "机房温度过高。" * 400  # 8400 bytes of UTF-8
    sender(hooks, "wecom", "text", clock).send(sample_notice(body=long_body))
    content = hooks.requests[0].json()["text"]["content"]
    assert len(content.encode("utf-8")) <= 2048
    assert content.startswith("[II] WB-2026-000123")  # the title survives the cut
    assert content.rstrip().endswith("WB-2026-000123")  # and so does the link
    assert "…" in content


def test_wecom_errcode_is_a_failure_even_with_http_200(
    hooks: HookServer, clock: FrozenClock
) -> None:
    hooks.answer(200, {"errcode": 93000, "errmsg": f"invalid webhook url, key={KEY}"})
    reason = failure(sender(hooks, "wecom", "text", clock))
    assert "WeCom refused the message: errcode 93000" in reason
    assert "invalid webhook url, ***" in reason  # what the server echoed was scrubbed


# -- DingTalk ----------------------------------------------------------------------------


def test_dingtalk_markdown_signed_with_at_mobiles(hooks: HookServer, clock: FrozenClock) -> None:
    url = hooks.url(f"/robot/send?access_token={KEY}")
    sender(hooks, "dingtalk", "markdown", clock, url=url, secret=SECRET).send(sample_notice())
    (req,) = hooks.requests
    assert req.path == "/robot/send"
    ts = req.query["timestamp"]
    assert int(ts) == int(clock.now().timestamp() * 1000)
    digest = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert req.query["sign"] == base64.b64encode(digest).decode()
    assert req.query["access_token"] == KEY
    body = req.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == sample_notice().title
    assert body["at"] == {"atMobiles": ["13800138000", "13900139000"], "isAtAll": False}
    # DingTalk only notifies the people whose @mobile is in the text as well.
    assert "@13800138000 @13900139000" in body["markdown"]["text"]


def test_dingtalk_unsigned_text(hooks: HookServer, clock: FrozenClock) -> None:
    sender(hooks, "dingtalk", "text", clock).send(sample_notice(recipients=(LI,)))
    (req,) = hooks.requests
    assert "sign" not in req.query and "timestamp" not in req.query
    body = req.json()
    assert body["msgtype"] == "text"
    assert body["text"]["content"].endswith("@13900139000")


def test_dingtalk_errcode_is_a_failure(hooks: HookServer, clock: FrozenClock) -> None:
    hooks.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
    reason = failure(sender(hooks, "dingtalk", "markdown", clock, secret=SECRET))
    assert reason == "DingTalk refused the message: errcode 310000 (sign not match)"


# -- Feishu ------------------------------------------------------------------------------


def test_feishu_card_signed_and_coloured_by_level(hooks: HookServer, clock: FrozenClock) -> None:
    hooks.default = (200, b'{"code":0,"msg":"success","data":{}}')
    url = hooks.url(f"/open-apis/bot/v2/hook/{KEY}")
    notice = sample_notice(level=Level.I)
    sender(hooks, "feishu", "card", clock, url=url, secret=SECRET).send(notice)
    body = hooks.requests[0].json()
    ts = body["timestamp"]
    assert int(ts) == int(clock.now().timestamp())
    digest = hmac.new(f"{ts}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    assert body["sign"] == base64.b64encode(digest).decode()
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["content"] == notice.title
    assert "**device**: ht-core-sw-1" in card["elements"][0]["text"]["content"]
    button = card["elements"][1]["actions"][0]
    assert button["url"] == notice.url


def test_feishu_text_and_code_refusal(hooks: HookServer, clock: FrozenClock) -> None:
    hooks.answer(200, {"code": 0, "msg": "success"})
    hooks.answer(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
    s = sender(hooks, "feishu", "text", clock)
    s.send(sample_notice())
    body = hooks.requests[0].json()
    assert body == {"msg_type": "text", "content": {"text": body["content"]["text"]}}
    assert body["content"]["text"].startswith("[II] WB-2026-000123")
    assert "Feishu refused the message: code 19021" in failure(s)


# -- Slack -------------------------------------------------------------------------------


def test_slack_text_and_blocks_escaped(hooks: HookServer, clock: FrozenClock) -> None:
    hooks.default = (200, b"ok")
    notice = sample_notice(body="load <high> & rising")
    sender(hooks, "slack", "blocks", clock).send(notice)
    body = hooks.requests[0].json()
    assert body["text"].startswith("[II] WB-2026-000123")
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "context", "section"]
    assert body["blocks"][1]["text"]["text"] == "load &lt;high&gt; &amp; rising"
    assert {"type": "mrkdwn", "text": "*site*\n上海总部"} in body["blocks"][2]["fields"]
    assert body["blocks"][4]["text"]["text"].startswith(f"<{notice.url}|")


def test_slack_http_error_is_a_failure(hooks: HookServer, clock: FrozenClock) -> None:
    hooks.answer(404, b"no_service")
    url = hooks.url(f"/services/T0001/B0002/{KEY}")
    reason = failure(sender(hooks, "slack", "blocks", clock, url=url))
    assert reason == f"HTTP 404 from Slack at http://127.0.0.1:{hooks.port}: no_service"


# -- transport failures ------------------------------------------------------------------


def test_http_500_names_the_origin_and_scrubs_an_echoed_url(
    hooks: HookServer, clock: FrozenClock
) -> None:
    s = sender(hooks, "wecom", "text", clock)
    hooks.answer(500, f"upstream failed for /cgi-bin/webhook/send?key={KEY}".encode())
    reason = failure(s)
    assert reason.startswith(f"HTTP 500 from WeCom at http://127.0.0.1:{hooks.port}")
    assert reason.endswith("send?***")


def test_connection_refused(clock: FrozenClock) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = WebhookSender(
        "dead",
        f"http://127.0.0.1:{port}/send?key={KEY}",
        make_format("wecom", "text"),
        timeout=5,
        clock=clock,
    )
    reason = failure(s)
    assert reason.startswith(f"cannot connect to WeCom at http://127.0.0.1:{port}")


def test_no_answer_within_the_timeout(hooks: HookServer, clock: FrozenClock) -> None:
    hooks.answer(HANG)
    reason = failure(sender(hooks, "wecom", "text", clock, timeout=0.3))
    assert reason == f"no answer from WeCom at http://127.0.0.1:{hooks.port} within 0.3s"


def test_sender_repr_hides_the_url(hooks: HookServer, clock: FrozenClock) -> None:
    s = sender(hooks, "wecom", "text", clock)
    assert KEY not in repr(s) and "wecom" in repr(s).lower()


def test_origin_and_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert origin(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}") == (
        "https://qyapi.weixin.qq.com"
    )
    assert origin("http://[::1]:8080/x") == "http://[::1]:8080"
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https://oapi.dingtalk.com/robot/send") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "hooks.internal")
    assert proxy_for("https://oapi.dingtalk.com/robot/send") == "http://proxy.internal:3128"
    assert proxy_for("https://hooks.internal/weibao") is None


def test_signing_uses_the_injected_clock(hooks: HookServer) -> None:
    clock = FrozenClock(START)
    s = sender(hooks, "dingtalk", "markdown", clock, secret=SECRET)
    s.send(sample_notice())
    clock.advance(timedelta(minutes=1))
    s.send(sample_notice())
    first, second = (int(r.query["timestamp"]) for r in hooks.requests)
    assert second - first == 60_000
