"""The per-device trap memory: whole snapshots, forgetting, windows, bounds, persistence."""

from __future__ import annotations

import json

from collector.traps.mapping import Effects
from collector.traps.state import TrapState
from weibao.observation import Sample


def link(interface: str, up: int, **extra: str) -> Effects:
    labels = {"interface": interface, **extra}
    return Effects(name="link", states=[Sample(name="trap_link_up", labels=labels, value=up)])


AUTH = Effects(name="auth", events=[Sample(name="trap_auth_failures", value=1)])


def values(samples: list[Sample]) -> dict[str, float]:
    return {s.labels.get("interface", s.name): s.value for s in samples}


def test_a_trap_about_one_port_reports_the_others_too() -> None:
    state = TrapState()
    state.apply("sw1", link("Gi0/1", 0), 0.0)
    assert values(state.snapshot("sw1", 0.0)) == {"Gi0/1": 0}
    state.apply("sw1", link("Gi0/2", 0), 5.0)
    assert values(state.snapshot("sw1", 5.0)) == {"Gi0/1": 0, "Gi0/2": 0}


def test_a_link_back_up_is_reported_once_then_forgotten() -> None:
    state = TrapState()
    state.apply("sw1", link("Gi0/1", 0), 0.0)
    state.apply("sw1", link("Gi0/1", 1), 10.0)
    assert values(state.snapshot("sw1", 10.0)) == {"Gi0/1": 1}
    assert state.snapshot("sw1", 11.0) == [] and len(state) == 0


def test_the_up_trap_replaces_the_down_one_whatever_its_extra_labels() -> None:
    state = TrapState()
    state.apply("sw1", link("Gi0/1", 0, admin="up", alias="to core"), 0.0)
    state.apply("sw1", link("Gi0/1", 1), 10.0)
    [sample] = state.snapshot("sw1", 10.0)
    assert (sample.labels, sample.value) == ({"interface": "Gi0/1"}, 1)


def test_events_count_over_the_window_and_report_zero_once() -> None:
    state = TrapState(window=3600)
    for t in (0.0, 60.0, 120.0):
        state.apply("sw1", AUTH, t)
    assert state.snapshot("sw1", 120.0) == [Sample(name="trap_auth_failures", value=3)]
    assert state.due(130.0) == []  # nothing moved
    assert state.due(3601.0) == ["sw1"]  # the first one left the window
    assert state.snapshot("sw1", 3601.0) == [Sample(name="trap_auth_failures", value=2)]
    assert state.due(3721.0) == ["sw1"]
    assert state.snapshot("sw1", 3721.0) == [Sample(name="trap_auth_failures", value=0)]
    assert state.due(3800.0) == [] and len(state) == 0


def test_a_fault_is_reported_again_while_young_then_only_with_new_traps() -> None:
    state = TrapState(hold=600)
    state.apply("sw1", link("Gi0/1", 0), 0.0)
    state.snapshot("sw1", 0.0)
    assert state.due(60.0) == ["sw1"]  # so that a rule's `for:` sees it again
    state.apply("sw1", link("Gi0/1", 0), 300.0)  # the same fault again: not younger
    assert state.due(599.0) == ["sw1"] and state.due(601.0) == []
    assert values(state.snapshot("sw1", 900.0)) == {"Gi0/1": 0}  # still remembered


def test_memory_per_device_is_bounded_and_the_oldest_gives_way() -> None:
    state = TrapState(max_series=3, max_times=5)
    for n in range(5):
        state.apply("sw1", link(f"Gi0/{n}", 0), float(n))
    assert values(state.snapshot("sw1", 5.0)) == {"Gi0/2": 0, "Gi0/3": 0, "Gi0/4": 0}
    assert state.evicted == 2
    for t in range(10):
        state.apply("sw2", AUTH, float(t))
    assert state.snapshot("sw2", 10.0) == [Sample(name="trap_auth_failures", value=5)]


def test_a_dump_restores_for_the_devices_still_in_the_inventory() -> None:
    state = TrapState()
    state.apply("sw1", link("Gi0/1", 0, admin="up"), 100.0)
    state.apply("sw1", AUTH, 200.0)
    state.apply("gone", link("Gi0/9", 0), 100.0)
    saved = json.loads(json.dumps(state.dump()))
    restored = TrapState()
    assert restored.load(saved, {"sw1"}) == 2
    assert restored.snapshot("sw1", 300.0) == state.snapshot("sw1", 300.0)
    assert restored.snapshot("gone", 300.0) == []
    assert TrapState().load({"version": 99}, {"sw1"}) == 0
