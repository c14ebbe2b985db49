"""Hourly and daily rollups of the series reports need, and raw-observation retention.

(Placeholder wired into housekeeping; the implementation lands with issue #11.)
"""

from __future__ import annotations

from datetime import datetime

from desk.storage import Store
from weibao.clock import Clock
from weibao.inventory.model import Inventory


class Rollups:
    def __init__(self, store: Store, inventory: Inventory, clock: Clock) -> None:
        self._store = store
        self._inventory = inventory
        self._clock = clock

    def run_once(self, now: datetime) -> None:
        """Bring the rollups up to date and enforce retention."""
