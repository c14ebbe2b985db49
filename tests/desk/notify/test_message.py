"""Notices as plain data: the JSON the outbox stores, read back exactly; bad rows refused
with the field named; the text renderings within the robots' byte limits."""

from __future__ import annotations

import json

import pytest

from desk.notify.message import Notice, NoticeKind, Recipient, make_test_notice
from desk.notify.render import markdown, plain_text, truncate_bytes
from tests.desk.notify.conftest import START, ZHANG, sample_notice
from weibao.inventory import notify as settings
from weibao.inventory.model import Person
from weibao.levels import Level


def test_json_round_trip_through_text() -> None:
    notice = sample_notice()
    again = Notice.from_json(json.loads(json.dumps(notice.to_json(), ensure_ascii=False)))
    assert again == notice
    assert notice.to_json()["level"] == "II" and notice.to_json()["kind"] == "ticket.opened"


def test_a_minimal_notice_round_trips() -> None:
    notice = Notice(NoticeKind.followup_due, "回访 WB-2026-000007", "")
    assert Notice.from_json(notice.to_json()) == notice
    assert notice.to_json()["recipients"] == [] and notice.to_json()["level"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "ticket.closed"}, "notice kind 'ticket.closed' is unknown"),
        ({"title": ""}, "notice field 'title' must be a non-empty string"),
        ({"level": "V"}, "unknown fault level 'V'"),
        ({"recipients": ["张伟"]}, "notice recipients must be a list of objects"),
        ({"facts": ["device"]}, "notice facts must be an object"),
        ({"url": 42}, "notice field 'url' must be a string or null"),
    ],
)
def test_a_bad_row_is_refused_naming_the_field(change: dict[str, object], message: str) -> None:
    data = {**sample_notice().to_json(), **change}
    with pytest.raises(ValueError, match=message):
        Notice.from_json(data)


def test_recipient_of_a_person() -> None:
    person = Person(name="张伟", email="zhang.wei@example.cn", phone="13800138000", wecom="zw")
    assert Recipient.of(person) == Recipient("张伟", "zhang.wei@example.cn", "13800138000", "zw")
    assert Recipient.of(Person(name="李娜")).to_json() == {"name": "李娜"}


def test_notice_kinds_are_defined_once() -> None:
    assert NoticeKind is settings.NoticeKind
    assert NoticeKind("ticket.escalated") is NoticeKind.ticket_escalated


def test_make_test_notice() -> None:
    notice = make_test_notice("ops-wecom", START, (ZHANG,))
    assert notice.kind == NoticeKind.test and "ops-wecom" in notice.title
    assert notice.facts["sent at"] == "2026-03-02T08:00:00+00:00"


def test_truncate_bytes_cuts_at_a_character_boundary() -> None:
    text = "风扇故障" * 10  # 3 bytes a character
    for limit in range(4, 40):
        cut = truncate_bytes(text, limit)
        assert len(cut.encode("utf-8")) <= limit
        assert cut.endswith("…") and text.startswith(cut[:-1])
    assert truncate_bytes("short", 100) == "short"


def test_plain_text_keeps_title_and_link_when_cut() -> None:
    notice = sample_notice(body="x" * 5000)
    text = plain_text(notice, 600)
    assert len(text.encode("utf-8")) <= 600
    assert text.startswith(notice.title + "\n\n")
    assert text.endswith(f"查看工单 Open ticket: {notice.url}")
    assert "To: 张伟, 李娜" in text


def test_markdown_layout() -> None:
    text = markdown(sample_notice(level=Level.I), mentions="<@zhangwei>")
    assert text.splitlines()[0] == "**[II] WB-2026-000123 ht-core-sw-1: 风扇故障 fan failed**"
    assert "Fan 2 of ht-core-sw-1 reports failure.  \n业务仍运行。" in text
    assert "- **site**: 上海总部" in text
    assert text.endswith("<@zhangwei>")
