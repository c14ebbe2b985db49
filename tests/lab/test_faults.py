"""Each scripted fault, end to end but the desk: the real SNMP and SSH drivers inspect the
whole lab, and the default rule pack turns what they report into exactly the alarm the
fault promises (and the healthy lab into none).

Inspection times are virtual (a FrozenClock moved past each rule's ``for:``); the
devices answer in real time on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import rules
from collector.driver import Depth, Driver
from collector.runner import inspect_now, plan_jobs
from collector.snmp.driver import SnmpDriver
from collector.ssh.driver import SshDriver
from rules.api import EngineState
from rules.engine import RuleEngine
from tests.lab.conftest import RunningLab, lab_environ, lab_inventory
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Alarm, Observation

pytestmark = pytest.mark.integration

# A Wednesday morning in Shanghai: no maintenance window, no warranty ending soon.
T0 = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
ENV = lab_environ()


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return rules.load_engine()


@pytest.fixture(scope="module")
def inventory(running_lab: RunningLab) -> Inventory:
    return lab_inventory(running_lab.endpoints)


class Inspector:
    """The real drivers in one event loop, reused across passes (as a collector does)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.loop = asyncio.new_event_loop()
        self.drivers: dict[str, Driver] = {}

    async def _make(self) -> None:
        self.drivers = {"snmp": SnmpDriver(environ=ENV), "ssh": SshDriver(environ=ENV)}

    def __enter__(self) -> Inspector:
        self.loop.run_until_complete(self._make())
        return self

    def __exit__(self, *exc: object) -> None:
        for driver in self.drivers.values():
            driver.close()  # type: ignore[attr-defined]
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    def inspect_all(self, when: datetime) -> list[Observation]:
        """One health inspection of every SNMP/SSH device of the inventory at ``when``."""
        jobs = plan_jobs(self.inventory.contexts(), self.drivers)
        clock = FrozenClock(when)
        results = self.loop.run_until_complete(
            inspect_now(jobs, self.drivers, clock, Depth.health, 16)
        )
        return [r.observation for r in results]


def alarms_after(
    engine: RuleEngine, inventory: Inventory, minutes: list[float]
) -> tuple[dict[str, Alarm], list[Observation]]:
    """Inspect at each minute after T0, evaluate in turn; the alarms active at the end."""
    state = EngineState()
    active: dict[str, Alarm] = {}
    last: list[Observation] = []
    advisory = {rule.id for rule in engine.rules if rule.source_is_inventory}
    with Inspector(inventory) as inspector:
        for minute in minutes:
            when = T0 + timedelta(minutes=minute)
            last = inspector.inspect_all(when)
            evaluation = engine.evaluate(state, last, when, inventory)
            state = evaluation.state
            for alarm in evaluation.firing:
                active[alarm.fingerprint] = alarm
            for alarm in evaluation.cleared:
                active.pop(alarm.fingerprint, None)
    return {fp: a for fp, a in active.items() if a.rule not in advisory}, last


@pytest.fixture
def faults_off(running_lab: RunningLab) -> Iterator[RunningLab]:
    yield running_lab
    running_lab.state.clear_faults()
    running_lab.thread.reload()


def test_the_healthy_lab_raises_no_alarm(
    faults_off: RunningLab, engine: RuleEngine, inventory: Inventory
) -> None:
    active, observations = alarms_after(engine, inventory, [0, 6])
    failed = {o.device: o.error for o in observations if not o.ok}
    assert failed == {}
    assert len(observations) == 12
    assert {a.fingerprint: a.title for a in active.values()} == {}


FAULTS = ["port-down", "ups-on-battery", "psu-failed", "storage-full", "raid-degraded"]


@pytest.mark.parametrize("name", [*FAULTS, "access-switch-down"])
def test_each_fault_opens_the_alarm_it_promises(
    faults_off: RunningLab, engine: RuleEngine, inventory: Inventory, name: str
) -> None:
    lab = faults_off
    fault = lab.thread.lab.fleet.faults[name]
    by_id = {rule.id: rule for rule in engine.rules}
    wait = max(by_id[e.rule].for_seconds for e in fault.expect) / 60
    lab.fault(name, True)
    active, _ = alarms_after(engine, inventory, [0, wait + 1])
    got = {(a.device, a.rule, a.level) for a in active.values()}
    assert got == {(e.device, e.rule, e.level) for e in fault.expect}


def test_a_fault_switched_off_clears(
    faults_off: RunningLab, engine: RuleEngine, inventory: Inventory
) -> None:
    lab = faults_off
    lab.fault("raid-degraded", True)  # raid_degraded has no `for:`: it fires at once
    later = T0 + timedelta(minutes=1)
    with Inspector(inventory) as inspector:
        fired = engine.evaluate(EngineState(), inspector.inspect_all(T0), T0, inventory)
        assert [a.rule for a in fired.firing] == ["raid_degraded"]
        lab.fault("raid-degraded", False)
        cleared = engine.evaluate(fired.state, inspector.inspect_all(later), later, inventory)
    assert [a.rule for a in cleared.cleared] == ["raid_degraded"]
