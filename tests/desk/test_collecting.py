"""The collector inside the desk: scheduled inspections of the lab straight into ingest,
tickets from the default rule pack, devices without secrets left out, a clean stop."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rules
from collector.driver import Driver
from collector.runner import Job
from collector.snmp.driver import SnmpDriver
from collector.ssh.driver import SshDriver
from desk.collecting import BACKLOG, DeskSink, InProcessCollector, runnable
from desk.server import build_desk
from desk.storage.records import TicketQuery
from lab import FLEET
from lab.fleet import load_fleet
from lab.runner import LabThread
from lab.state import Endpoint, LabState
from tests.lab.conftest import lab_environ, lab_inventory, start_lab
from weibao.observation import Observation, Source

T0 = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # a Wednesday morning: no maintenance window
SCALE = 30.0  # virtual seconds per real second: the 60 s health interval takes 2 s


class ScaledClock:
    """Time that runs SCALE times faster from T0, for the scheduler and the desk alike."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> datetime:
        return T0 + timedelta(seconds=(time.monotonic() - self._start) * SCALE)


async def scaled_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds / SCALE)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    state = LabState(tmp_path / "lab")
    state.set_fault("port-down", True, T0)  # on from the start
    thread = start_lab(load_fleet(FLEET), tmp_path / "lab")
    try:
        yield thread
    finally:
        thread.stop()


def test_the_desk_opens_a_ticket_for_a_lab_fault(
    lab: LabThread, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoints = {(e.device, e.protocol): e for e in lab.lab.endpoints}
    inventory = lab_inventory(endpoints)
    clock = ScaledClock()
    desk = build_desk(f"sqlite:///{tmp_path / 'desk.db'}", inventory, rules.load_engine(), clock)
    index = inventory.device_index()
    contexts = [index[name] for name in ("ht-acc-sw-1", "ht-ups-1", "ht-db-01")]
    env = lab_environ()
    without_ssh = {k: v for k, v in env.items() if k != "WEIBAO_HT_SSH_PASSWORD"}

    def drivers() -> dict[str, Driver]:
        return {"snmp": SnmpDriver(environ=env), "ssh": SshDriver(environ=env)}

    collector = InProcessCollector(
        contexts,
        desk.ingestor.ingest,
        clock,
        concurrency=4,
        sleep=scaled_sleep,
        drivers=drivers,
        environ=without_ssh,
    )
    caplog.set_level(logging.INFO, logger="weibao.desk.collector")
    try:
        collector.start()
        deadline = time.monotonic() + 60
        while True:
            tickets = desk.store.list_tickets(TicketQuery(device="ht-acc-sw-1"))
            if tickets or collector.error is not None:
                break
            assert time.monotonic() < deadline, f"no ticket within 60 s: {collector.stats}"
            time.sleep(0.2)
    finally:
        collector.stop()
        desk.store.close()
    assert collector.error is None
    [ticket] = tickets
    assert (ticket.rule, ticket.level.value) == ("interface_down", "II")
    assert ticket.labels.get("interface") == "GigabitEthernet1/0/25"
    # The SSH server without its secret was reported once and never inspected.
    assert [(s.device, s.method) for s in collector.skipped] == [("ht-db-01", "ssh")]
    assert "env:WEIBAO_HT_SSH_PASSWORD" in collector.skipped[0].reason
    assert {job.device for job in collector.jobs} == {"ht-acc-sw-1", "ht-ups-1"}
    skipped_logs = [r for r in caplog.records if r.getMessage() == "collector.device_skipped"]
    assert [r.fields["device"] for r in skipped_logs] == ["ht-db-01"]  # type: ignore[attr-defined]
    assert env["WEIBAO_HT_SSH_PASSWORD"] not in caplog.text
    assert not collector._thread.is_alive()


def test_missing_secrets_are_found_by_reference() -> None:
    endpoints = {
        (name, protocol): Endpoint(name, protocol, "127.0.0.1", 1161)
        for name, protocol in (("ht-acc-sw-1", "snmp"), ("ht-db-01", "ssh"))
    }
    index = lab_inventory(endpoints).device_index()
    jobs = [Job(index["ht-acc-sw-1"], "snmp"), Job(index["ht-db-01"], "ssh")]
    ready, skipped = runnable(jobs, {"WEIBAO_HT_SNMP_COMMUNITY": "x"})
    assert [j.device for j in ready] == ["ht-acc-sw-1"]
    assert [(s.device, s.method) for s in skipped] == [("ht-db-01", "ssh")]
    assert skipped[0].reason == (
        "secret env:WEIBAO_HT_SSH_PASSWORD cannot be read: "
        "environment variable WEIBAO_HT_SSH_PASSWORD is not set"
    )


def obs(n: int) -> Observation:
    return Observation(id=f"obs-{n:08d}", device="d", source=Source.snmp, time=T0, samples=[])


def test_a_batch_the_store_refuses_is_kept_and_offered_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    taken: list[list[str]] = []
    failures = [RuntimeError("database is locked")]

    def ingest(batch: Sequence[Observation]) -> None:
        if failures:
            raise failures.pop()
        taken.append([o.id for o in batch])

    sink = DeskSink(ingest, logging.getLogger("test.sink"))
    asyncio.run(sink.deliver([obs(1), obs(2)]))
    assert taken == [] and sink.failing == "RuntimeError: database is locked"
    [failed] = [r for r in caplog.records if r.getMessage() == "collector.ingest_failed"]
    assert failed.fields["error"] == "RuntimeError: database is locked"  # type: ignore[attr-defined]
    asyncio.run(sink.deliver([obs(3)]))
    assert taken == [[obs(n).id for n in (1, 2, 3)]] and sink.failing is None


def test_the_backlog_is_bounded() -> None:
    def refuse(batch: Sequence[Observation]) -> None:
        raise RuntimeError("down")

    sink = DeskSink(refuse, logging.getLogger("test.sink"))
    asyncio.run(sink.deliver([obs(n) for n in range(BACKLOG + 5)]))
    assert sink.dropped == 5


def test_serve_refuses_an_unknown_site(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "customers:\n- name: C\n  contracts:\n  - id: C-1\n    name: c\n    start: 2026-01-01\n"
        "    end: 2026-12-31\n    service_manager: {name: M}\n    sites:\n    - name: HQ\n"
        "      devices: [{name: sw, kind: switch}]\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "weibao.cli.main", "serve"),
            *("-i", str(inventory), "--db", f"sqlite:///{tmp_path / 'd.db'}"),
            *("--listen", "127.0.0.1:0", "--site", "QH"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "no site named 'QH'" in done.stderr and "HQ" in done.stderr
