"""The first rule, before the YAML engine: a device whose ``up`` sample is 0 is
unreachable. Level I for a critical device, II otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rules.api import EngineState, Evaluation
from weibao.inventory.model import Criticality, Inventory
from weibao.levels import Level
from weibao.observation import Alarm, Observation

RULE_ID = "device_unreachable"


class FirstRuleEngine:
    def evaluate(
        self,
        state: EngineState,
        observations: Sequence[Observation],
        now: datetime,
        inventory: Inventory,
    ) -> Evaluation:
        down: dict[str, bool] = dict(state.data.get("down", {}))
        index = inventory.device_index()
        firing: list[Alarm] = []
        cleared: list[Alarm] = []
        for obs in observations:
            up = obs.value("up")
            ctx = index.get(obs.device)
            if up is None or ctx is None:
                continue
            critical = ctx.device.criticality in (Criticality.high, Criticality.critical)
            alarm = Alarm(
                fingerprint=f"{RULE_ID}:{obs.device}",
                device=obs.device,
                level=Level.I if critical else Level.II,
                rule=RULE_ID,
                title=f"{obs.device} is unreachable",
                description=obs.error or "",
                evidence=obs.values("up"),
                observed_at=obs.time,
                observation_id=obs.id,
            )
            if up == 0:
                down[obs.device] = True
                firing.append(alarm)
            elif down.pop(obs.device, False):
                cleared.append(alarm)
        return Evaluation(firing=firing, cleared=cleared, state=EngineState({"down": down}))
