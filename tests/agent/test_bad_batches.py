"""A bad batch never blocks the spool (issue 13, items 6 and 13): a spooled NaN, a batch
the real desk refuses, a corrupted file, a leftover ``*.tmp`` and a full disk are set
aside or cleaned up loudly, and the batches behind them are delivered. The desk here is
the real one (SQLite, uvicorn on 127.0.0.1 port 0) and the spool a real directory."""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import rules
from agent.metrics import agent_families
from agent.runner import AgentRunner
from agent.stats import AgentStats
from desk.api import create_app
from desk.model import Role
from desk.server import DeskServer
from desk.storage import Store
from desk.storage.tables import ObservationRow
from desk.tokens import issue_token
from tests.desk.conftest import IMMEDIATE_RULES, INVENTORY
from weibao.clock import FrozenClock
from weibao.delivery.push import PushClient
from weibao.delivery.spool import Spool
from weibao.inventory.model import Inventory

NOW = datetime.now(UTC).replace(microsecond=0)


class Desk:
    def __init__(self, store: Store, url: str, token: str) -> None:
        self.store = store
        self.url = url
        self.token = token

    def stored(self) -> int:
        with self.store.read_session() as session:
            return int(session.execute(select(func.count()).select_from(ObservationRow)).scalar())


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(NOW)
    inventory = Inventory.model_validate(INVENTORY)
    app = create_app(store, inventory, rules.load_engine(IMMEDIATE_RULES), clock)
    token = issue_token(store, Role.agent, None, None, NOW).token
    try:
        with DeskServer(app, port=0) as server:
            yield Desk(store, server.url, token)
    finally:
        store.close()


class Inspector:
    """Hands out prepared observations (the runner only needs ``inspect``)."""

    def __init__(self) -> None:
        self.made = 0

    def prime(self) -> None:
        pass

    def inspect(self, full: bool = False) -> dict[str, Any]:
        self.made += 1
        return wire(self.made)


def wire(i: int, value: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"obs-{i:08d}",
        "device": "acme-db",
        "source": "agent",
        "time": (NOW - timedelta(seconds=100 - i)).isoformat(),
        "ok": True,
        "error": None,
        "samples": [{"name": "up", "labels": {}, "value": value}],
        "meta": {},
        "raw": {},
        **extra,
    }


@pytest.fixture
def runner(desk: Desk, tmp_path: Path) -> Iterator[AgentRunner]:
    spool = Spool(tmp_path / "spool")
    with PushClient(desk.url, desk.token, timeout=10) as client:
        yield AgentRunner(Inspector(), client, spool, AgentStats(spool=spool))


def counter(stats: AgentStats, name: str) -> float:
    for family in agent_families(stats):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not on /metrics")


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_a_spooled_nan_and_a_refused_batch_are_set_aside_and_the_rest_delivered(
    runner: AgentRunner, desk: Desk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir)
    spool.put([wire(1)])
    # What an older agent wrote: Python's json writes NaN, which no JSON reader takes.
    (spool_dir / "000000000002.json").write_text(json.dumps([wire(2, float("nan"))]))
    spool = Spool(spool_dir)
    spool.put([wire(3, time="1971-01-01T00:00:00Z")])  # the desk refuses it: 422
    spool.put([wire(4, float("inf"))])  # refused by the spool itself
    spool.put([wire(5)])
    runner._spool = spool
    runner.stats.spool = spool
    with caplog.at_level(logging.INFO):
        assert runner.flush() is True
    assert desk.stored() == 2
    assert spool.batches == 0
    kept = sorted((spool_dir / "rejected").glob("*.reason"))
    reasons = " ".join(p.read_text() for p in kept)
    assert len(kept) == 3 and "NaN" in reasons and "HTTP 422" in reasons
    assert spool.rejected == 3
    assert counter(runner.stats, "weibao_agent_rejected_batches_total") == 3
    logged = " ".join(events(caplog))
    assert "agent.batch_set_aside" in logged and "agent.batch_rejected" in logged


def test_a_corrupted_file_is_set_aside_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    broken = spool.put([wire(1)])
    spool.put([wire(2)])
    assert broken is not None
    broken.write_bytes(b"\x00\x00\x00")
    with caplog.at_level(logging.INFO):
        ids = [batch[0]["id"] for _, batch in Spool(tmp_path).pending()]
    assert ids == [wire(2)["id"]]
    assert any("agent.batch_set_aside" in m for m in events(caplog))


def test_leftover_tmp_files_are_removed_on_start_and_said_to_be(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Spool(tmp_path).put([wire(1)])
    (tmp_path / "000000000002.tmp").write_bytes(b"")
    (tmp_path / "000000000003.tmp").write_bytes(b"[{")
    with caplog.at_level(logging.INFO):
        spool = Spool(tmp_path)
    assert not list(tmp_path.glob("*.tmp")) and spool.batches == 1
    assert any("agent.spool_leftovers_removed" in m for m in events(caplog))


def test_a_failed_write_leaves_no_tmp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("weibao.delivery.spool.os.fsync", full)
    with pytest.raises(OSError):
        spool.put([wire(1)])
    assert not list(tmp_path.glob("*.tmp")) and spool.batches == 0 and spool.write_errors == 1


def test_recovery_after_a_full_disk_names_the_disk_not_a_full_spool(
    runner: AgentRunner,
    desk: Desk,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with caplog.at_level(logging.INFO):
        with monkeypatch.context() as patched:
            patched.setattr("weibao.delivery.spool.os.fsync", full)
            assert runner.run_once() is True  # sent straight from memory
            assert runner.run_once() is True
        assert runner.run_once() is True  # the disk has room again
    logged = events(caplog)
    assert logged.count("agent.spool_unwritable") == 1
    assert "agent.spool_writable_again" in logged
    assert "agent.spool_full" not in logged
    assert desk.stored() == 3
    assert counter(runner.stats, "weibao_agent_spool_write_errors_total") == 2
