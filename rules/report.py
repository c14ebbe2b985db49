"""What the desk is told: firing, suppressed (and why), with status labels.

An active alarm is reported when something happened to it in this evaluation (it fired,
or an observation confirmed it) or when how it stands changed (level, flapping,
suppression, dependants); the desk adds each report to the fault's ticket as evidence.
It is reported as suppressed, not firing, in this order of precedence:

- **topology**: its rule says it follows from the device being cut off (``topology:
  down`` or ``cut_off``) and every upstream of the device is down; ``suppressed_by`` is
  the fingerprint of the root's down alarm, whose alarm lists the dependants;
- **site**: its rule collapses by site (``collapse: site``) and every device of the site
  is silent: one alarm, on the site's first device, carries the others;
- **maintenance**: the device, its site or its contract is in a maintenance window.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from rules.alarms import dependants_labels, device_of, to_alarm
from rules.evaluation import Pass
from rules.maintenance import window_at
from rules.model import Rule
from rules.series import Phase, Series
from rules.topology import Topology
from rules.view import site_key
from weibao.observation import Alarm, Sample

MAX_LISTED = 20


class Reporter:
    """Status labels for the active alarms of one evaluation."""

    def __init__(self, run: Pass, now: datetime) -> None:
        self.run = run
        self.now = now
        self.down: dict[str, str] = {}
        affected: set[str] = set()
        scan = run.table.topology_scan(run.topology_rules)
        for fp, rule_id, device, phase, raw in sorted(scan):
            rule = run.by_id.get(rule_id)
            if rule is None:
                continue
            if rule.topology == "down" and raw and phase != Phase.idle.value:
                self.down.setdefault(device, fp)
            if phase == Phase.firing.value:
                affected.add(device)
        self.topology = Topology(run.view.depends, self.down)
        self.dependants: dict[str, list[str]] = defaultdict(list)
        for device in sorted(affected | set(self.down)):
            for root in self.topology.roots(device):
                self.dependants[root].append(device)
        self._windows: dict[str, str] = {}
        self._collapsed: dict[tuple[str, str], tuple[str, ...]] = {}

    def report(self) -> tuple[list[Alarm], list[Alarm]]:
        """The firing and the suppressed alarms of this evaluation, by fingerprint."""
        run = self.run
        candidates = run.fingerprints() if run.sweeping else sorted(run.touched)
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
            labels["suppressed_by"] = self.down[roots[0]]
            labels["suppressed_reason"] = "topology"
            labels["root_devices"] = ",".join(roots)
            return labels, []
        evidence: list[Sample] = []
        if rule.topology == "down" and self.down.get(series.device) == fp:
            names = self.dependants.get(series.device, [])
            labels.update(dependants_labels(names))
            evidence = [Sample(name="up", labels={"device": n}, value=0.0) for n in names]
            evidence = [s for s in evidence if s.labels["device"] in self.down]
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


def report(run: Pass, now: datetime) -> tuple[list[Alarm], list[Alarm]]:
    return Reporter(run, now).report()
