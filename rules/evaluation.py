"""One evaluation: the state, a batch of observations and a time in; verdicts out.

A :class:`Pass` reads the previous state without changing it (series are copied when
first touched, so untouched ones are shared, not copied), feeds each observation to the
rules indexed under its sample names, then *sweeps*: rules that need no sample (no
data, inventory advisories), flapping alarms that calmed down, and memory that is no
longer needed. The sweep runs at most every :data:`SWEEP_EVERY` seconds of ``now``, so
its cost, which grows with the inventory, does not multiply with the call rate.
:mod:`rules.report` then decides what is reported as firing or suppressed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rules.alarms import build_alarm, fingerprint, fingerprint_labels, to_alarm
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
STATE_VERSION = 2


class Pass:
    """The working copy of the engine state during one evaluation."""

    def __init__(
        self, ruleset: RuleSet, view: InventoryView, data: Mapping[str, Any], now: datetime
    ) -> None:
        self.ruleset = ruleset
        self.by_id = {rule.id: rule for rule in ruleset.rules}
        self.view = view
        self.now = now.timestamp()
        if data.get("version", STATE_VERSION) != STATE_VERSION:
            data = {}  # another engine's memory: start afresh rather than misread it
        self.table = SeriesTable(data.get("series", {}), data.get("topology", {}))
        self.topology_rules = frozenset(r.id for r in ruleset.rules if r.topology != "none")
        self.seen: dict[str, float] = dict(data.get("seen", {}))
        self.prev: dict[str, list[float]] = dict(data.get("prev", {}))
        swept_at = data.get("swept_at")
        self.sweeping = swept_at is None or abs(self.now - float(swept_at)) >= SWEEP_EVERY
        self.swept_at = self.now if self.sweeping else float(swept_at or 0.0)
        self.touched: set[str] = set()
        # Devices observed in this pass: their roots' alarms may have new dependants.
        self.observed: set[str] = set()
        self.cleared: list[Alarm] = []

    # -- series access -------------------------------------------------------------------

    def get(self, fp: str) -> Series | None:
        return self.table.get(fp)

    def fingerprints(self) -> list[str]:
        return self.table.fingerprints()

    def forget(self, fp: str) -> None:
        self.table.forget(fp)

    # -- observations --------------------------------------------------------------------

    def observe(self, obs: Observation) -> None:
        ctx = self.view.devices.get(obs.device)
        if ctx is None:
            return  # the desk records observations of unknown devices; no contract, no rule
        t = obs.time.timestamp()
        self.observed.add(obs.device)
        key = f"{obs.device}|{obs.source.value}"
        if self.seen.get(key, -math.inf) < t:
            self.seen[key] = t
        by_name: dict[str, list[Sample]] = defaultdict(list)
        for sample in obs.samples:
            by_name[sample.name].append(sample)
        for name, samples in by_name.items():
            for rule in self.view.rules_for(self.ruleset, obs.device, obs.source.value, name):
                self._apply(rule, ctx, obs, t, samples, by_name)
            if name in self.ruleset.change_samples:
                for sample in samples:
                    skey = _series_key(obs.device, sample)
                    if self.prev.get(skey, [-math.inf])[0] < t:
                        self.prev[skey] = [t, sample.value]

    def _apply(
        self,
        rule: Rule,
        ctx: DeviceContext,
        obs: Observation,
        t: float,
        samples: Sequence[Sample],
        by_name: Mapping[str, Sequence[Sample]],
    ) -> None:
        groups: dict[str, list[tuple[Sample, Facts]]] = defaultdict(list)
        labels_of: dict[str, dict[str, str]] = {}
        source = obs.source.value
        for sample in samples:
            if not rule.selects(sample.labels):
                continue
            fpl = fingerprint_labels(rule, sample.labels)
            fp = fingerprint(rule, obs.device, fpl)
            labels_of[fp] = fpl
            prev = None
            if rule.needs_prev:
                found = self.prev.get(_series_key(obs.device, sample))
                prev = (found[0], found[1]) if found and found[0] < t else None
            facts = Facts(t, sample.value, sample.labels, ctx, source, prev, by_name, meta=obs.meta)
            groups[fp].append((sample, facts))
        for fp, items in groups.items():
            verdicts = [
                (rule.condition.holds(f), rule.clear.holds(f) if rule.clear else None, f)
                for _, f in items
            ]
            cond = any(c for c, _, _ in verdicts)
            clear = all((not c) if cl is None else cl for c, cl, _ in verdicts)
            chosen = [f for c, _, f in verdicts if c] or [f for _, _, f in verdicts]
            worst = min(chosen, key=lambda f: rule.level_for(f).rank)
            evidence = [s for s, _ in items]
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
        if series.alarm is not None:
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
            key = f"{ctx.device.name}|{source}"
            last = self.seen.get(key)
            if last is None:
                # Never heard from: the silence is counted from the first time we expect it.
                self.seen[key] = last = self.now
            silent = max(0.0, self.now - last)
            if silent < rule.no_data and not self.table.exists(fp):
                continue
            facts = Facts(self.now, silent, {"source": source}, ctx, source, silent_for=silent)
            cond = rule.condition.holds(facts)
            clear = rule.clear.holds(facts) if rule.clear else not cond
            self.advance(rule, fp, fpl, facts, cond, clear, [], None, False)

    def _inventory(self, rule: Rule) -> None:
        for ctx, sample, fp, fpl in self.view.inventory_targets(rule):
            facts = Facts(self.now, sample.value, sample.labels, ctx, "inventory")
            cond = rule.condition.holds(facts)
            if not cond and not self.table.exists(fp):
                continue
            clear = rule.clear.holds(facts) if rule.clear else not cond
            self.advance(rule, fp, fpl, facts, cond, clear, [sample], None, False)

    def _settle_and_collect(self) -> None:
        """Release calm flapping alarms; forget series of removed devices and rules."""
        for fp in self.fingerprints():
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
        known = self.view.devices
        self.seen = {k: v for k, v in self.seen.items() if k.split("|", 1)[0] in known}
        self.prev = {k: v for k, v in self.prev.items() if k.split("|", 1)[0] in known}

    def _quiet(self, entry: Mapping[str, Any]) -> bool:
        """A stored firing series with nothing for the sweep to do (the common case)."""
        return (
            entry.get("phase") == "firing"
            and not entry.get("flapping")
            and entry["rule"] in self.by_id
            and entry["device"] in self.view.devices
        )

    # -- the new state -------------------------------------------------------------------

    def state_data(self) -> dict[str, Any]:
        series, topology = self.table.dump(self.topology_rules)
        return {
            "version": STATE_VERSION,
            # Not sorted: EngineState.to_json sorts keys, and dicts compare unordered.
            "series": series,
            "topology": topology,
            "seen": self.seen,
            "prev": self.prev,
            "swept_at": self.swept_at,
        }


def _series_key(device: str, sample: Sample) -> str:
    labels = ",".join(f"{k}={sample.labels[k]}" for k in sorted(sample.labels))
    return f"{device}|{sample.name}|{labels}"
