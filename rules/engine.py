"""The YAML rule engine behind :class:`rules.api.Engine`.

Pure: ``evaluate`` reads the state, the observations, ``now`` and the inventory, and
returns alarms and a new state; it never reads a clock, a file or the network, and the
same input gives the same output. Observations are taken in (time, device, source, id)
order, so the order a batch arrives in does not matter either.

The only thing the engine keeps between calls is a cache of the inventory's derived view
(which rules apply to which device), rebuilt when a different inventory object comes in;
it changes how fast the answer comes, never the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rules.api import EngineState, Evaluation
from rules.conditions import Facts
from rules.evaluation import Pass
from rules.model import Rule, RuleSet
from rules.report import report
from rules.view import InventoryView
from weibao.inventory.model import Inventory
from weibao.observation import Observation


class RuleEngine:
    """Evaluates a :class:`RuleSet`; see :mod:`rules.api` for the contract."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._view: tuple[Inventory, InventoryView] | None = None

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.ruleset.rules

    def rule(self, rule_id: str) -> Rule | None:
        return self.ruleset.get(rule_id)

    def evaluate(
        self,
        state: EngineState,
        observations: Sequence[Observation],
        now: datetime,
        inventory: Inventory,
    ) -> Evaluation:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        run = Pass(self.ruleset, self._view_of(inventory), state, now)
        for obs in sorted(observations, key=lambda o: (o.time, o.device, o.source.value, o.id)):
            run.observe(obs)
        run.sweep()
        firing, suppressed = report(run, now)
        cleared = sorted(run.cleared, key=lambda a: (a.observed_at, a.fingerprint))
        data, changed = run.state_data()
        return Evaluation(
            firing=firing,
            cleared=cleared,
            state=EngineState(data),
            suppressed=suppressed,
            changed=changed,
        )

    def sweep_scope(
        self, inventory: Inventory, now: datetime, stored: Mapping[str, float | None]
    ) -> set[str]:
        """Devices whose ``sweep_after`` has come, that the inventory no longer lists,
        that a no-data rule watches but whose silence is not counted yet, and whose
        inventory advisory (warranty, contract end) holds now."""
        view = self._view_of(inventory)
        t = now.timestamp()
        wanted = {
            device
            for device, after in stored.items()
            if device not in view.devices or (after is not None and after <= t)
        }
        for rule in self.ruleset.sweeping:
            if rule.no_data is not None:
                for ctx, _, _, _ in view.silence_targets(rule):
                    if stored.get(ctx.device.name) is None:
                        wanted.add(ctx.device.name)
                continue
            for ctx, sample, _, _ in view.inventory_targets(rule):
                name = ctx.device.name
                if name not in wanted:
                    facts = Facts(t, sample.value, sample.labels, ctx, "inventory")
                    if rule.condition.holds(facts):
                        wanted.add(name)
        return wanted

    def _view_of(self, inventory: Inventory) -> InventoryView:
        # Holding the inventory itself keeps its id from being reused by another object.
        cached = self._view
        if cached is None or cached[0] is not inventory:
            cached = (inventory, InventoryView.build(inventory))
            self._view = cached
        return cached[1]
