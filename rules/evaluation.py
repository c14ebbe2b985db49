"""One evaluation: the state, a batch of observations and a time in; verdicts out.

A :class:`Pass` reads the previous state without changing it (series are copied when
first touched, so untouched ones are shared, not copied), feeds each observation to the
rules indexed under its sample names, then *sweeps*: rules that need no sample (no
data, inventory advisories), flapping alarms that calmed down, and memory that is no
longer needed. The sweep runs at most every :data:`SWEEP_EVERY` seconds of ``now``, so
its cost, which grows with the inventory, does not multiply with the call rate; a caller
that holds only some devices' memory (``EngineState.scope``: the desk) asks for it
instead, and it then looks at those devices only.
:mod:`rules.report` then decides what is reported as firing or suppressed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rules.alarms import build_alarm, fingerprint, fingerprint_labels, to_alarm
from rules.api import DEVICE_SECTIONS, STATE_VERSION, DeviceSummary, EngineState
from rules.conditions import Facts
from rules.maintenance import window_at
from rules.model import Rule, RuleSet
from rules.series import Event, Phase, Series, forgettable, settle, step
from rules.table import SeriesTable
from rules.view import InventoryView
from weibao.inventory.model import DeviceContext
from weibao.observation import Alarm, Observation, Sample

SWEEP_EVERY = 15.0
# A pending fault whose sample stopped coming without vanishing (its source went quiet)
# is forgotten after this long; a firing one stays until it clears.
FORGET_PENDING = 86400.0


class Pass:
    """The working copy of the engine state during one evaluation."""

    def __init__(
        self, ruleset: RuleSet, view: InventoryView, state: EngineState, now: datetime
    ) -> None:
        self.ruleset = ruleset
        self.by_id = {rule.id: rule for rule in ruleset.rules}
        # The rules of each fault that more than one rule reports (``fault:``).
        members: dict[str, list[str]] = defaultdict(list)
        for rule in ruleset.rules:
            members[rule.fault_id].append(rule.id)
        self.fault_rules = {fault: ids for fault, ids in members.items() if len(ids) > 1}
        self.view = view
        self.now = now.timestamp()
        data = state.data
        if data.get("version", STATE_VERSION) != STATE_VERSION:
            data = {}  # another engine's memory: start afresh rather than misread it
        self.data = data
        # The devices whose memory the state holds (None: all of them).
        self.scope = state.scope
        self.table = SeriesTable(data.get("series", {}), data.get("topology", {}))
        self.topology_rules = frozenset(r.id for r in ruleset.rules if r.topology != "none")
        # Per device: when each source was last heard of, and the last value of samples
        # whose change a rule reads. Copied per device when first written.
        self._seen_in: Mapping[str, dict[str, float]] = data.get("seen", {})
        self._prev_in: Mapping[str, dict[str, list[float]]] = data.get("prev", {})
        self._seen: dict[str, dict[str, float]] = {}
        self._prev: dict[str, dict[str, list[float]]] = {}
        self._dropped: set[str] = set()
        swept_at = data.get("swept_at")
        due = swept_at is None or abs(self.now - float(swept_at)) >= SWEEP_EVERY
        self.sweeping = due if state.sweep is None else state.sweep
        self.swept_at = self.now if self.sweeping else float(swept_at or 0.0)
        self.touched: set[str] = set()
        # Devices observed in this pass: their roots' alarms may have new dependants.
        self.observed: set[str] = set()
        self.cleared: list[Alarm] = []

    def seen_at(self, device: str, source: str) -> float | None:
        found = self._seen.get(device)
        return (self._seen_in.get(device, {}) if found is None else found).get(source)

    def set_seen(self, device: str, source: str, t: float) -> None:
        found = self._seen.get(device)
        if found is None:
            found = self._seen[device] = dict(self._seen_in.get(device, {}))
        found[source] = t

    def prev_of(self, device: str, key: str) -> list[float] | None:
        found = self._prev.get(device)
        return (self._prev_in.get(device, {}) if found is None else found).get(key)

    def set_prev(self, device: str, key: str, value: list[float]) -> None:
        found = self._prev.get(device)
        if found is None:
            found = self._prev[device] = dict(self._prev_in.get(device, {}))
        found[key] = value

    # -- series access -------------------------------------------------------------------

    def get(self, fp: str) -> Series | None:
        return self.table.get(fp)

    def fingerprints(self) -> list[str]:
        """Every series the sweep looks at (those of the scope's devices, if it has one)."""
        return self.table.fingerprints(self.scope)

    def forget(self, fp: str) -> None:
        self.table.forget(fp)

    # -- observations --------------------------------------------------------------------

    def observe(self, obs: Observation) -> None:
        ctx = self.view.devices.get(obs.device)
        if ctx is None:
            return  # the desk records observations of unknown devices; no contract, no rule
        t = obs.time.timestamp()
        self.observed.add(obs.device)
        source = obs.source.value
        if (self.seen_at(obs.device, source) or -math.inf) < t:
            self.set_seen(obs.device, source, t)
        by_name: dict[str, list[Sample]] = defaultdict(list)
        for sample in obs.samples:
            by_name[sample.name].append(sample)
        for name, samples in by_name.items():
            for rule in self.view.rules_for(self.ruleset, obs.device, obs.source.value, name):
                self._apply(rule, ctx, obs, t, samples, by_name)
            if name in self.ruleset.change_samples:
                for sample in samples:
                    skey = _series_key(sample)
                    if (self.prev_of(obs.device, skey) or [-math.inf])[0] < t:
                        self.set_prev(obs.device, skey, [t, sample.value])

    def _apply(
        self,
        rule: Rule,
        ctx: DeviceContext,
        obs: Observation,
        t: float,
        samples: Sequence[Sample],
        by_name: Mapping[str, Sequence[Sample]],
    ) -> None:
        source = obs.source.value
        judged: list[tuple[Sample, Facts, bool]] = []
        for sample in samples:
            if not rule.selects(sample.labels):
                continue
            prev = None
            if rule.needs_prev:
                found = self.prev_of(obs.device, _series_key(sample))
                prev = (found[0], found[1]) if found and found[0] < t else None
            facts = Facts(t, sample.value, sample.labels, ctx, source, prev, by_name, meta=obs.meta)
            judged.append((sample, facts, rule.condition.holds(facts)))
        if not any(c for _, _, c in judged) and not self.table.has_rule(obs.device, rule.id):
            return  # healthy, and nothing remembered of the rule here: nothing can happen
        groups: dict[str, list[tuple[Sample, Facts, bool]]] = defaultdict(list)
        labels_of: dict[str, dict[str, str]] = {}
        for sample, facts, holds in judged:
            fpl = fingerprint_labels(rule, sample.labels)
            fp = fingerprint(rule, obs.device, fpl)
            labels_of[fp] = fpl
            groups[fp].append((sample, facts, holds))
        for fp, items in groups.items():
            cond = any(c for _, _, c in items)
            if not cond and not self.table.exists(fp):
                continue  # healthy, and nothing remembered: nothing can happen (advance)
            verdicts = [(c, rule.clear.holds(f) if rule.clear else None, f) for _, f, c in items]
            clear = all((not c) if cl is None else cl for c, cl, _ in verdicts)
            chosen = [f for c, _, f in verdicts if c] or [f for _, _, f in verdicts]
            worst = min(chosen, key=lambda f: rule.level_for(f).rank)
            evidence = [s for s, _, _ in items]
            self.advance(rule, fp, labels_of[fp], worst, cond, clear, evidence, obs.id, True)
        for fp in self.table.open_on(obs.device, rule.id):
            if fp in groups:
                continue
            series = self.get(fp)
            if series is not None and series.source == source:
                # The source still reports this sample, no longer this one: it is gone.
                gone = Facts(t, math.nan, series.labels, ctx, source)
                self.advance(rule, fp, series.labels, gone, False, True, [], obs.id, True)

    def advance(
        self,
        rule: Rule,
        fp: str,
        fpl: dict[str, str],
        facts: Facts,
        cond: bool,
        clear: bool,
        evidence: Sequence[Sample],
        observation_id: str | None,
        confirm_reports: bool,
    ) -> None:
        """Step the fault's series and act on what happened."""
        series = self.get(fp)
        if series is None:
            if not cond:
                return
            series = Series(rule.id, facts.ctx.device.name, fpl, facts.source)
            self.table.put(fp, series)
        series.source = facts.source
        event = step(series, rule, facts.t, cond, clear)
        if event is Event.fired and rule.maintenance == "when_fired":
            series.window = self.window_text(series.device, facts.t)
        if event is Event.fired or (event is Event.confirmed and confirm_reports):
            level = rule.level_for(facts)
            series.alarm = build_alarm(rule, fp, facts, level, evidence, observation_id)
            self.touched.add(fp)
        elif event is Event.confirmed and series.alarm is not None:
            level = rule.level_for(facts)
            if level.value != series.alarm["level"]:
                series.alarm = build_alarm(rule, fp, facts, level, evidence, observation_id)
        elif event is Event.cleared:
            self.clear(fp, series, facts.t, evidence, observation_id)
        if forgettable(series, rule, facts.t):
            self.forget(fp)

    def clear(
        self,
        fp: str,
        series: Series,
        t: float,
        evidence: Sequence[Sample] = (),
        observation_id: str | None = None,
        reason: str = "",
    ) -> None:
        if series.alarm is not None and not self._fault_goes_on(fp, series):
            data = dict(series.alarm)
            if evidence:
                data["evidence"] = [s.model_dump(mode="json") for s in evidence]
            data["observation_id"] = observation_id
            labels = {"cleared_reason": reason} if reason else None
            rule = self.by_id.get(series.rule)
            knowledge = rule.knowledge if rule is not None else ""
            self.cleared.append(to_alarm(data, knowledge, labels, observed_at=t))
        series.alarm, series.shown, series.flapping, series.window = None, "", False, ""
        series.held_at = None
        self.touched.discard(fp)

    def _fault_goes_on(self, fp: str, series: Series) -> bool:
        """Whether another rule reporting the same fault still fires for this instance
        (``fault:``): then this rule's clear is not the fault's, and no clear is sent."""
        rule = self.by_id.get(series.rule)
        if rule is None or rule.fault_id not in self.fault_rules:
            return False
        for other in self.fault_rules[rule.fault_id]:
            if other == series.rule:
                continue
            for sibling_fp in self.table.open_on(series.device, other):
                sibling = self.get(sibling_fp)
                if (
                    sibling_fp != fp
                    and sibling is not None
                    and sibling.alarm is not None
                    and sibling.labels == series.labels
                ):
                    return True
        return False

    def window_text(self, device: str, t: float) -> str:
        """The maintenance window covering ``device`` at ``t``, described; "" if none."""
        window = window_at(self.view.windows.get(device, ()), datetime.fromtimestamp(t, UTC))
        return "" if window is None else window.describe()

    # -- the sweep -----------------------------------------------------------------------

    def sweep(self) -> None:
        if not self.sweeping:
            return
        for rule in self.ruleset.sweeping:
            if rule.no_data is not None:
                self._no_data(rule)
            else:
                self._inventory(rule)
        self._settle_and_collect()

    def _no_data(self, rule: Rule) -> None:
        assert rule.no_data is not None
        for ctx, source, fp, fpl in self.view.silence_targets(rule):
            if self.scope is not None and ctx.device.name not in self.scope:
                continue
            last = self.seen_at(ctx.device.name, source)
            if last is None:
                # Never heard from: the silence is counted from the first time we expect it.
                self.set_seen(ctx.device.name, source, self.now)
                last = self.now
            silent = max(0.0, self.now - last)
            if silent < rule.no_data and not self.table.exists(fp):
                continue
            facts = Facts(self.now, silent, {"source": source}, ctx, source, silent_for=silent)
            cond = rule.condition.holds(facts)
            clear = rule.clear.holds(facts) if rule.clear else not cond
            self.advance(rule, fp, fpl, facts, cond, clear, [], None, False)

    def _inventory(self, rule: Rule) -> None:
        for ctx, sample, fp, fpl in self.view.inventory_targets(rule):
            if self.scope is not None and ctx.device.name not in self.scope:
                continue
            facts = Facts(self.now, sample.value, sample.labels, ctx, "inventory")
            cond = rule.condition.holds(facts)
            if not cond and not self.table.exists(fp):
                continue
            clear = rule.clear.holds(facts) if rule.clear else not cond
            self.advance(rule, fp, fpl, facts, cond, clear, [sample], None, False)

    def _settle_and_collect(self) -> None:
        """Release calm flapping alarms; forget series of removed devices and rules."""
        for fp in self.table.fingerprints(self.scope):
            entry = self.table.stored_entry(fp)
            if entry is not None and self._quiet(entry):
                continue
            series = self.get(fp)
            if series is None:
                continue
            rule = self.by_id.get(series.rule)
            if rule is None or series.device not in self.view.devices:
                if series.active:
                    why = "rule removed" if rule is None else "device removed from the inventory"
                    self.clear(fp, series, self.now, reason=why)
                self.forget(fp)
                continue
            event = settle(series, rule, self.now)
            if event is Event.cleared:
                self.clear(fp, series, self.now)
            abandoned = series.phase is Phase.pending and self.now - series.t > FORGET_PENDING
            if abandoned or forgettable(series, rule, self.now):
                self.forget(fp)
        remembered = {*self._seen_in, *self._prev_in} if self.scope is None else self.scope
        self._dropped = {d for d in remembered if d not in self.view.devices}

    def _quiet(self, entry: Mapping[str, Any]) -> bool:
        """A stored firing series with nothing for the sweep to do (the common case)."""
        return (
            entry.get("phase") == "firing"
            and not entry.get("flapping")
            and entry["rule"] in self.by_id
            and entry["device"] in self.view.devices
        )

    # -- the new state -------------------------------------------------------------------

    def state_data(self) -> tuple[dict[str, Any], dict[str, DeviceSummary]]:
        """The new state, and the devices whose memory changed with their summaries."""
        series, topology = self.table.dump(self.topology_rules)
        seen = dict(self._seen_in)
        seen.update(self._seen)
        prev = dict(self._prev_in)
        prev.update(self._prev)
        for device in self._dropped:
            seen.pop(device, None)
            prev.pop(device, None)
        data = {
            "version": STATE_VERSION,
            # Not sorted: EngineState.to_json sorts keys, and dicts compare unordered.
            "series": series,
            "topology": topology,
            "seen": seen,
            "prev": prev,
            "swept_at": self.swept_at,
        }
        candidates = self.table.dirty() | set(self._seen) | set(self._prev) | self._dropped
        changed: dict[str, DeviceSummary] = {}
        by_device: dict[str, dict[str, list[Any]]] = defaultdict(dict)
        if candidates:
            for fp, entry in topology.items():
                if entry[1] in candidates:
                    by_device[entry[1]][fp] = entry
        old = self.data
        for device in sorted(candidates):
            before = [old.get(section, {}).get(device) for section in DEVICE_SECTIONS]
            after = [series.get(device), seen.get(device), prev.get(device)]
            if before != after:
                changed[device] = DeviceSummary(
                    self.sweep_after(device, series.get(device), seen.get(device)),
                    by_device.get(device, {}),
                )
        return data, changed

    def sweep_after(
        self,
        device: str,
        series: Mapping[str, Any] | None,
        seen: Mapping[str, float] | None,
    ) -> float | None:
        """From when the sweep must look at the device (see DeviceSummary)."""
        if series:
            return 0.0
        targets = self.view.silence_of(self.ruleset, device)
        if not targets:
            return None
        seen = seen or {}
        return min(seen.get(source, 0.0) + quiet for quiet, source in targets)


def _series_key(sample: Sample) -> str:
    labels = ",".join(f"{k}={sample.labels[k]}" for k in sorted(sample.labels))
    return f"{sample.name}|{labels}"
