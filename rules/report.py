"""What the desk is told: firing, suppressed (and why), with status labels.

An active alarm is reported when something happened to it in this evaluation (it fired,
or an observation confirmed it) or when how it stands changed (level, flapping,
suppression, dependants); the desk adds each report to the fault's ticket as evidence.
It is reported as suppressed, not firing, in this order of precedence:

- **topology**: its rule says it follows from the device being cut off (``topology:
  down`` or ``cut_off``) and every upstream of the device is down; ``suppressed_by`` is
  the fingerprint of the root's down alarm, whose alarm lists the dependants (and, as
  ``suppressed_alarm`` evidence, the fingerprints held under it, so the desk can fold a
  dependant's ticket opened before the root was known down);
- **site**: its rule collapses by site (``collapse: site``) and every device of the site
  is silent: one alarm, on the site's first device, carries the others;
- **maintenance**: the device, its site or its contract is in a maintenance window.

A topology alarm is reported firing but *held* (``held_by``, ``held_reason``), which the
desk opens no ticket for, while the answer is not known yet:

- ``root_pending``: the device would be cut off once an upstream whose down series is
  still inside its ``for:`` fires (not reported as suppressed: that root has no alarm
  yet to point at);
- ``root_recovered``: it was suppressed or held, its root is back, and nothing has
  confirmed since that the device itself is still down: until an observation confirms
  it, or :data:`HOLD_AFTER_RECOVERY` passes. So when a core switch comes back, the
  devices behind it that answer again a moment later open nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from rules.alarms import SUPPRESSED_SAMPLE, dependants_labels, device_of, to_alarm
from rules.evaluation import Pass
from rules.maintenance import window_at
from rules.model import Rule
from rules.series import Phase, Series
from rules.topology import Topology
from rules.view import site_key
from weibao.observation import Alarm, Sample

MAX_LISTED = 20
# A dependant whose root came back waits this long for an observation to confirm it is
# still down before it is reported firing on its own (about two inspection intervals).
HOLD_AFTER_RECOVERY = 120.0
# A pending root not observed for its ``for:`` and this long (its source went quiet) no
# longer holds its dependants back.
PENDING_ROOT_LATE = 120.0


class Reporter:
    """Status labels for the active alarms of one evaluation."""

    def __init__(self, run: Pass, now: datetime) -> None:
        self.run = run
        self.now = now
        self.down: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        affected: set[str] = set()
        firing_on: dict[str, list[str]] = defaultdict(list)
        scan = run.table.topology_scan(run.topology_rules)
        for fp, rule_id, device, phase, raw in sorted(scan):
            rule = run.by_id.get(rule_id)
            if rule is None:
                continue
            if rule.topology == "down" and raw and phase != Phase.idle.value:
                self.down.setdefault(device, fp)
            elif rule.topology == "down" and phase == Phase.pending.value and self.fresh(fp, rule):
                self.pending.setdefault(device, fp)
            if phase == Phase.firing.value:
                affected.add(device)
                firing_on[device].append(fp)
        for device in self.down:
            self.pending.pop(device, None)
        self.topology = Topology(run.view.depends, self.down)
        # What the topology becomes if the pending roots fire: who is held back meanwhile.
        self.tentative = Topology(run.view.depends, {*self.down, *self.pending})
        self.dependants: dict[str, list[str]] = defaultdict(list)
        # Per root, the active topology alarms under it (it is their first root).
        self.held: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for device in sorted(affected | set(self.down) | set(self.pending)):
            roots = self.topology.roots(device)
            for root in roots:
                self.dependants[root].append(device)
            if roots:
                self.held[roots[0]].extend((device, fp) for fp in firing_on.get(device, ()))
        self._windows: dict[str, str] = {}
        self._collapsed: dict[tuple[str, str], tuple[str, ...]] = {}

    def fresh(self, fp: str, rule: Rule) -> bool:
        """A pending down series that may still fire (its source has not gone quiet)."""
        t = self.run.table.topology_t(fp)
        return t is not None and self.run.now - t <= rule.for_seconds + PENDING_ROOT_LATE

    def report(self) -> tuple[list[Alarm], list[Alarm]]:
        """The firing and the suppressed alarms of this evaluation, by fingerprint."""
        run = self.run
        if run.sweeping:
            candidates = run.fingerprints()
        else:
            # A root's alarm lists its dependants: re-report it when one is observed.
            roots = {self.down[r] for d in run.observed for r in self.topology.roots(d)}
            candidates = sorted(run.touched | roots)
        firing: list[Alarm] = []
        suppressed: list[Alarm] = []
        for fp in candidates:
            series = run.get(fp)
            if series is None or not series.active or series.alarm is None:
                continue
            rule = run.by_id[series.rule]
            labels, evidence = self.labels(fp, series, rule)
            signature = json.dumps([series.alarm["level"], labels], sort_keys=True)
            if fp not in run.touched and signature == series.shown:
                continue
            series.shown = signature
            alarm = to_alarm(series.alarm, rule.knowledge, labels, evidence)
            (suppressed if "suppressed_by" in labels else firing).append(alarm)
        return firing, suppressed

    def labels(self, fp: str, series: Series, rule: Rule) -> tuple[dict[str, str], list[Sample]]:
        labels: dict[str, str] = {"flapping": "true"} if series.flapping else {}
        roots = self.topology.roots(series.device) if rule.topology != "none" else ()
        if roots:
            series.held_at = None
            labels["suppressed_by"] = self.down[roots[0]]
            labels["suppressed_reason"] = "topology"
            labels["root_devices"] = ",".join(roots)
            return labels, []
        held = self.hold(fp, series, rule) if rule.topology != "none" else {}
        if held:
            labels.update(held)
            return labels, []
        evidence: list[Sample] = []
        if rule.topology == "down" and self.down.get(series.device) == fp:
            names = self.dependants.get(series.device, [])
            labels.update(dependants_labels(names))
            evidence = [
                Sample(name="up", labels={"device": n}, value=0.0)
                for n in names
                if n in self.down or n in self.pending
            ]
            evidence.extend(
                Sample(name=SUPPRESSED_SAMPLE, labels={"device": d, "alarm": held_fp}, value=1.0)
                for d, held_fp in self.held.get(series.device, ())
            )
        if rule.collapse == "site":
            group = self.collapsed(rule, series)
            if group and group[0] != fp:
                labels.update(suppressed_by=group[0], suppressed_reason="site")
                return labels, evidence
            if group:
                devices = [device_of(member) for member in group]
                shown = ", ".join(devices[:MAX_LISTED])
                labels.update(devices=shown, devices_count=str(len(devices)))
        window = self.window(series, rule)
        if window:
            labels.update(suppressed_by="maintenance", suppressed_reason="maintenance")
            labels["maintenance"] = window
        return labels, evidence

    def hold(self, fp: str, series: Series, rule: Rule) -> dict[str, str]:
        """Why a topology alarm that is not suppressed should not open a ticket yet."""
        pending = self.tentative.roots(series.device)
        waiting = [r for r in pending if r in self.pending]
        if waiting:
            series.held_at = None
            return {
                "held_by": self.pending[waiting[0]],
                "held_reason": "root_pending",
                "root_devices": ",".join(pending),
            }
        previous = _held_by(series.shown)
        if not previous:
            series.held_at = None
            return {}
        if series.held_at is None:
            series.held_at = self.run.now
        elif fp in self.run.touched or self.run.now - series.held_at >= HOLD_AFTER_RECOVERY:
            series.held_at = None
            return {}
        return {"held_by": previous, "held_reason": "root_recovered"}

    def collapsed(self, rule: Rule, series: Series) -> tuple[str, ...]:
        """The site's fingerprints when every one of them is active (and more than one)."""
        ctx = self.run.view.devices[series.device]
        key = (rule.id, site_key(ctx))
        if key not in self._collapsed:
            group = self.run.view.site_groups(rule).get(key[1], ())
            members = [self.run.get(member) for member in group]
            whole = len(group) > 1 and all(m is not None and m.active for m in members)
            self._collapsed[key] = group if whole else ()
        return self._collapsed[key]

    def window(self, series: Series, rule: Rule) -> str:
        if rule.maintenance == "when_fired":
            return series.window
        if series.device not in self._windows:
            found = window_at(self.run.view.windows.get(series.device, ()), self.now)
            self._windows[series.device] = "" if found is None else found.describe()
        return self._windows[series.device]


def _held_by(shown: str) -> str:
    """The root an alarm was last reported suppressed or held under, if any."""
    if "held_by" not in shown and "topology" not in shown:
        return ""
    labels = json.loads(shown)[1]
    if labels.get("suppressed_reason") == "topology":
        return str(labels.get("suppressed_by", ""))
    return str(labels.get("held_by", ""))


def report(run: Pass, now: datetime) -> tuple[list[Alarm], list[Alarm]]:
    return Reporter(run, now).report()
