"""The engine keeps up with thousands of observations a minute, one desk call each.

A loose bound: it catches work that grows with the inventory or the state on every
call (the kind of regression that turns 0.5 ms into 50 ms), not machine noise.
"""

from __future__ import annotations

import time
from datetime import timedelta

from rules import EngineState, load_engine
from tests.rules.conftest import T0, make_inventory
from weibao.observation import Observation, Sample

DEVICES = 1000


def test_three_thousand_observations_one_call_each() -> None:
    inventory = make_inventory(
        {"name": f"srv{i}", "kind": "server", "inspect": {"agent": {}}} for i in range(DEVICES)
    )
    engine = load_engine()
    batches = []
    for minute in range(3):
        for i in range(DEVICES):
            when = T0 + timedelta(minutes=minute, seconds=i * 60 / DEVICES)
            samples = [
                Sample(name="up", value=1),
                Sample(name="uptime_seconds", value=1000 + minute * 60),
                Sample(name="cpu_usage_ratio", value=0.99 if i % 10 == 0 else 0.2),
                Sample(name="memory_usage_ratio", value=0.5),
                *(
                    Sample(name="filesystem_usage_ratio", labels={"mountpoint": m}, value=0.95)
                    for m in ("/", "/var")
                ),
            ]
            obs = Observation(
                id=f"obs-{i:05d}-{minute}",
                device=f"srv{i}",
                source="agent",
                time=when,
                samples=samples,
            )
            batches.append((when, obs))
    state = EngineState()
    started = time.perf_counter()
    for when, obs in batches:
        state = engine.evaluate(state, [obs], when, inventory).state
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{len(batches)} evaluations took {elapsed:.1f}s"
    pending = sum(len(faults) for faults in state.data["series"].values())
    assert pending == DEVICES * 2 + DEVICES // 10
