"""Invariants of the engine, checked over generated histories (hypothesis).

- an alarm never clears before it fired (the desk never hears of a clear it cannot place);
- suppression never hides the root: a topology-suppressed alarm points at an active
  alarm that is not itself suppressed by topology, on a device that is down; and no
  device that has been down long enough is missing from the active alarms;
- levels only change through the rule's own cases;
- same input, same output, whatever the batch order, through a JSON round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import EngineState, load_engine
from rules.engine import RuleEngine
from tests.rules.conftest import at, make_inventory
from weibao.inventory.model import Inventory
from weibao.observation import Alarm, Observation, Sample

ENGINE: RuleEngine = load_engine()
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEVICES = [f"d{i}" for i in range(6)]


@st.composite
def topologies(draw: st.DrawFn) -> Inventory:
    """Six switches; each may depend on one or two earlier ones (a DAG, no cycles)."""
    devices: list[dict[str, Any]] = []
    for index, name in enumerate(DEVICES):
        upstream: list[str] = []
        if index:
            upstream = draw(st.lists(st.sampled_from(DEVICES[:index]), max_size=2, unique=True))
        role = draw(st.sampled_from(["core", "access", None]))
        devices.append({"name": name, "kind": "switch", "role": role, "depends_on": upstream})
    return make_inventory(devices)


# Each step: which devices answer (1), fail (0) or are not polled (None).
steps = st.lists(
    st.lists(st.sampled_from([1.0, 0.0, 0.0, None]), min_size=6, max_size=6),
    min_size=1,
    max_size=14,
)


def observations(step: int, values: Sequence[float | None]) -> list[Observation]:
    return [
        Observation(
            id=f"obs-{name}-{step}",
            device=name,
            source="snmp",
            time=at(step),
            samples=[Sample(name="up", value=value)],
        )
        for name, value in zip(DEVICES, values, strict=True)
        if value is not None
    ]


class Desk:
    """What the desk knows: the active alarms, as the evaluations told it."""

    def __init__(self) -> None:
        self.active: dict[str, Alarm] = {}
        self.errors: list[str] = []

    def apply(self, firing: list[Alarm], suppressed: list[Alarm], cleared: list[Alarm]) -> None:
        for alarm in cleared:
            if alarm.fingerprint not in self.active:
                self.errors.append(f"{alarm.fingerprint} cleared without having fired")
            self.active.pop(alarm.fingerprint, None)
        for alarm in [*firing, *suppressed]:
            self.active[alarm.fingerprint] = alarm


@SETTINGS
@given(inventory=topologies(), history=steps)
def test_no_clear_before_fire_and_suppression_never_hides_the_root(
    inventory: Inventory, history: list[list[float | None]]
) -> None:
    desk = Desk()
    state = EngineState()
    last_up: dict[str, float] = {}
    down_since: dict[str, int] = {}
    seen_at: dict[str, int] = {}
    for step, values in enumerate(history):
        for name, value in zip(DEVICES, values, strict=True):
            if value is not None:
                last_up[name] = value
                seen_at[name] = step
                if value == 0:
                    down_since.setdefault(name, step)
                else:
                    down_since.pop(name, None)
        evaluation = ENGINE.evaluate(state, observations(step, values), at(step), inventory)
        state = EngineState.from_json(evaluation.state.to_json())
        desk.apply(evaluation.firing, evaluation.suppressed, evaluation.cleared)
        assert desk.errors == []
        for alarm in desk.active.values():
            if alarm.labels.get("suppressed_reason") != "topology":
                continue
            root = desk.active.get(alarm.labels["suppressed_by"])
            assert root is not None, f"{alarm.fingerprint} points at no active alarm"
            assert root.labels.get("suppressed_reason") != "topology"
            assert last_up[root.device] == 0
        for name, since in down_since.items():
            if seen_at[name] - since >= 2:  # observed down for the rule's `for: 2m`
                assert f"device_unreachable:{name}" in desk.active


# A filesystem's fill level at each minute; None: the source stopped reporting it.
fill_levels = st.lists(
    st.sampled_from([0.5, 0.86, 0.9, 0.95, 0.97, 0.98, 0.99, None]), min_size=1, max_size=40
)


@SETTINGS
@given(values=fill_levels)
def test_levels_come_only_from_the_rules_own_cases(values: list[float | None]) -> None:
    inventory = make_inventory([{"name": "srv1", "kind": "server"}])
    rule = ENGINE.rule("filesystem_full")
    assert rule is not None
    state = EngineState()
    desk = Desk()
    for step, value in enumerate(values):
        samples = [Sample(name="filesystem_usage_ratio", labels={"mountpoint": "/"}, value=0.1)]
        if value is not None:
            labels = {"mountpoint": "/data"}
            samples.append(Sample(name="filesystem_usage_ratio", labels=labels, value=value))
        obs = Observation(
            id=f"obs-fs-{step}", device="srv1", source="agent", time=at(step), samples=samples
        )
        evaluation = ENGINE.evaluate(state, [obs], at(step), inventory)
        state = evaluation.state
        desk.apply(evaluation.firing, evaluation.suppressed, evaluation.cleared)
        assert desk.errors == []
        for alarm in evaluation.firing:
            assert alarm.level in rule.levels
            # Reported with this observation: its level is the case this value meets.
            assert value is not None
            assert alarm.level.value == ("II" if value >= 0.98 else "III")


@SETTINGS
@given(inventory=topologies(), history=steps, seed=st.randoms(use_true_random=False))
def test_same_input_same_output_in_any_batch_order(
    inventory: Inventory, history: list[list[float | None]], seed: Any
) -> None:
    batch = [obs for step, values in enumerate(history) for obs in observations(step, values)]
    now = at(len(history))
    shuffled = list(batch)
    seed.shuffle(shuffled)
    first = ENGINE.evaluate(EngineState(), batch, now, inventory)
    second = ENGINE.evaluate(EngineState(), shuffled, now, inventory)
    assert first == second
    again = ENGINE.evaluate(
        EngineState.from_json(first.state.to_json()), [], at(len(history) + 1), inventory
    )
    replay = ENGINE.evaluate(first.state, [], at(len(history) + 1), inventory)
    assert again == replay
