"""Shared notification fixtures: a frozen clock, a sample notice, a recording HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from desk.notify.message import Notice, NoticeKind, Recipient
from tests.desk.notify.hookserver import HookServer
from weibao.clock import FrozenClock
from weibao.levels import Level

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
KEY = "5f3c2a1e-93d4-4b6a-9e8f-0a1b2c3d4e5f"  # what a robot key looks like; must never leak

ZHANG = Recipient("张伟", email="zhang.wei@example.cn", phone="13800138000", wecom="zhangwei")
LI = Recipient("李娜", email="li.na@example.cn", phone="13900139000")


def sample_notice(**changes: object) -> Notice:
    fields: dict[str, object] = {
        "kind": NoticeKind.ticket_opened,
        "title": "[II] WB-2026-000123 ht-core-sw-1: 风扇故障 fan failed",
        "body": "Fan 2 of ht-core-sw-1 reports failure.\n业务仍运行。",
        "recipients": (ZHANG, LI),
        "ticket": "WB-2026-000123",
        "level": Level.II,
        "customer": "恒通物流",
        "url": "https://weibao.example.cn/tickets/WB-2026-000123",
        "facts": {"device": "ht-core-sw-1", "site": "上海总部", "respond by": "08:20 +08:00"},
    }
    fields.update(changes)
    return Notice(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    with HookServer() as server:
        yield server
