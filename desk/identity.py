"""Match what an agent says it is to a device under contract.

An agent is installed with ``--device NAME`` when the ops engineer knows the inventory
name; when it is not (a default install reports the host name), its hostname,
machine-id or DMI serial still identifies the server against the inventory's
``inspect.agent.hostname``/``machine_id`` and the device's ``serial``. What matches
nothing is kept and listed as a server not under contract, never dropped.
"""

from __future__ import annotations

from weibao.inventory.model import Inventory
from weibao.observation import Observation

# meta key reported by the agent -> how the inventory records the same fact
_KEYS = ("machine_id", "dmi_serial", "hostname")


class IdentityIndex:
    def __init__(self, inventory: Inventory) -> None:
        self._names = set(inventory.device_index())
        self._by: dict[str, dict[str, str]] = {key: {} for key in _KEYS}
        for ctx in inventory.contexts():
            device = ctx.device
            agent = device.inspect.agent
            if agent is not None and agent.machine_id:
                self._by["machine_id"][agent.machine_id.strip().lower()] = device.name
            if agent is not None and agent.hostname:
                self._by["hostname"][agent.hostname.strip().lower()] = device.name
            if device.serial:
                self._by["dmi_serial"][device.serial.strip().lower()] = device.name

    def match(self, obs: Observation) -> str | None:
        """The inventory device this observation belongs to, or None."""
        if obs.device in self._names:
            return obs.device
        for key in _KEYS:  # strongest identity first
            value = obs.meta.get(key, "").strip().lower()
            if value and value in self._by[key]:
                return self._by[key][value]
        return None

    def resolve(self, obs: Observation) -> Observation:
        """The observation under its inventory name, keeping what the agent reported."""
        name = self.match(obs)
        if name is None or name == obs.device:
            return obs
        meta = {**obs.meta, "reported_device": obs.device}
        return obs.model_copy(update={"device": name, "meta": meta})
