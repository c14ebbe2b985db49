"""The engine's contract: pure, deterministic, and the state machine's edges."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rules import EngineState, load_engine
from rules.engine import RuleEngine
from rules.evaluation import SWEEP_EVERY
from tests.rules.conftest import at, make_inventory, observe, write_rules
from weibao.observation import Observation, Sample

INVENTORY = make_inventory(
    [
        {"name": "srv1", "kind": "server", "inspect": {"agent": {}}},
        {"name": "srv2", "kind": "server", "inspect": {"agent": {}}},
    ]
)


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return load_engine()


def run(
    engine: RuleEngine, batches: list[tuple[float, list[Observation]]]
) -> tuple[EngineState, list[list[str]]]:
    """Evaluate batches in turn; return the last state and firing fingerprints per batch."""
    state = EngineState()
    firing = []
    for minute, batch in batches:
        evaluation = engine.evaluate(state, batch, at(minute), INVENTORY)
        state = evaluation.state
        firing.append([a.fingerprint for a in evaluation.firing])
    return state, firing


def down(minute: float, device: str = "srv1") -> Observation:
    return observe(device, minute, "snmp", up=0)


def test_same_input_same_output_and_the_state_is_not_changed(engine: RuleEngine) -> None:
    state, _ = run(engine, [(m, [down(m)]) for m in range(3)])
    before = copy.deepcopy(state.data)
    batch = [down(3), observe("srv2", 3, cpu_usage_ratio=0.99)]
    first = engine.evaluate(state, batch, at(3), INVENTORY)
    second = engine.evaluate(state, list(reversed(batch)), at(3), INVENTORY)
    assert first == second
    assert state.data == before
    again = engine.evaluate(EngineState.from_json(state.to_json()), batch, at(3), INVENTORY)
    assert again == first
    json.dumps(first.state.data)


def test_an_alarm_is_reported_when_something_happens_to_it(engine: RuleEngine) -> None:
    _, firing = run(
        engine,
        [(0, [down(0)]), (1, [down(1)]), (2, [down(2)]), (2.5, [observe("srv2", 2.5, up=1)])],
    )
    assert firing[:2] == [[], []]
    assert firing[2] == ["device_unreachable:srv1"]
    assert firing[3] == []  # still active, but nothing new happened to it


def test_observations_older_than_the_series_are_ignored(engine: RuleEngine) -> None:
    state, _ = run(engine, [(m, [down(m)]) for m in range(3)])
    late = engine.evaluate(state, [observe("srv1", 1.5, "snmp", up=1)], at(3), INVENTORY)
    assert late.cleared == []
    assert late.state.data["series"] == state.data["series"]


def test_unknown_devices_are_ignored(engine: RuleEngine) -> None:
    evaluation = engine.evaluate(EngineState(), [down(0, "ghost")] * 1, at(0), INVENTORY)
    assert evaluation.firing == [] and evaluation.state.data["series"] == {}


def test_a_device_removed_from_the_inventory_clears_its_alarms(engine: RuleEngine) -> None:
    state, _ = run(engine, [(m, [down(m)]) for m in range(3)])
    smaller = make_inventory([{"name": "srv2", "kind": "server"}])
    evaluation = engine.evaluate(state, [], at(4), smaller)
    assert [a.fingerprint for a in evaluation.cleared] == ["device_unreachable:srv1"]
    assert evaluation.cleared[0].labels["cleared_reason"] == "device removed from the inventory"
    assert evaluation.state.data["series"] == {}


def test_the_knowledge_text_reaches_the_engineer(engine: RuleEngine) -> None:
    state, _ = run(engine, [(m, [down(m)]) for m in range(2)])
    alarm = engine.evaluate(state, [down(2)], at(2), INVENTORY).firing[0]
    assert "处理建议 / What to check" in alarm.description
    assert alarm.evidence == [Sample(name="up", value=0)]
    assert alarm.observed_at == at(2)


def test_now_must_carry_a_time_zone(engine: RuleEngine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.evaluate(EngineState(), [], at(0).replace(tzinfo=None), INVENTORY)


def test_silence_is_checked_at_most_every_sweep_interval(engine: RuleEngine) -> None:
    state = engine.evaluate(EngineState(), [], at(0), INVENTORY).state
    swept = state.data["swept_at"]
    soon = engine.evaluate(state, [], at(SWEEP_EVERY / 120), INVENTORY).state
    assert soon.data["swept_at"] == swept
    later = engine.evaluate(state, [], at(SWEEP_EVERY / 30), INVENTORY).state
    assert later.data["swept_at"] > swept


RATE_RULES = """\
rules:
  - id: filling_fast
    summary: A filesystem fills faster than 10% an hour
    sample: filesystem_usage_ratio
    condition: {rate: {gt: 10%/h}}
    fingerprint: [mountpoint]
    level: III
    title: "{device}: {labels.mountpoint} filling"
    knowledge: Find what writes; compare with the previous days.
  - id: gone_rule
    summary: Only here to be removed
    sample: up
    condition: {value: 0}
    level: II
    title: "{device} down"
    knowledge: This rule exists to test what happens when it is removed.
"""


def test_rate_of_change_uses_the_previous_value(rules_dir: Path) -> None:
    engine = load_engine(write_rules(rules_dir, {"a.yaml": RATE_RULES}))
    state = EngineState()
    fired = []
    for minute, value in [(0, 0.50), (10, 0.51), (20, 0.55), (30, 0.56)]:
        obs = Observation(
            id=f"obs-fs-{minute}",
            device="srv1",
            source="agent",
            time=at(minute),
            samples=[
                Sample(name="filesystem_usage_ratio", labels={"mountpoint": "/"}, value=value)
            ],
        )
        evaluation = engine.evaluate(state, [obs], at(minute), INVENTORY)
        state = evaluation.state
        fired.append(([a.rule for a in evaluation.firing], [a.rule for a in evaluation.cleared]))
    # +1%/10m = 6%/h, +4%/10m = 24%/h, then +1%/10m again.
    assert fired == [([], []), ([], []), (["filling_fast"], []), ([], ["filling_fast"])]


def test_a_removed_rule_clears_its_alarms(rules_dir: Path) -> None:
    old = load_engine(write_rules(rules_dir, {"a.yaml": RATE_RULES}))
    state = old.evaluate(EngineState(), [down(0)], at(0), INVENTORY).state
    new = load_engine()
    evaluation = new.evaluate(state, [], at(1), INVENTORY)
    assert [(a.rule, a.labels["cleared_reason"]) for a in evaluation.cleared] == [
        ("gone_rule", "rule removed")
    ]


def test_observation_context_reaches_the_description(engine: RuleEngine) -> None:
    state = EngineState()
    for minute in range(6):
        obs = Observation(
            id=f"obs-units-{minute}",
            device="srv1",
            source="agent",
            time=at(minute),
            samples=[Sample(name="systemd_failed_units", value=2)],
            meta={"failed_units": "nginx.service cron.service"},
        )
        evaluation = engine.evaluate(state, [obs], at(minute), INVENTORY)
        state = evaluation.state
    [alarm] = evaluation.firing
    assert alarm.description.startswith(
        "Units in the failed state on srv1: nginx.service cron.service"
    )


def test_for_forgives_a_millisecond_of_timing_jitter(engine: RuleEngine) -> None:
    # device_unreachable has for: 2m; inspections 60 s apart arrive 59.999 s apart now and then.
    jitter = 0.001 / 60
    minutes = [0, 1 - jitter, 2 - 2 * jitter]
    _, firing = run(engine, [(m, [down(m)]) for m in minutes])
    assert firing == [[], [], ["device_unreachable:srv1"]]
    # ... but not a whole inspection early: 1.9 minutes is not 2.
    _, early = run(engine, [(m, [down(m)]) for m in (0, 0.95, 1.9)])
    assert early == [[], [], []]
