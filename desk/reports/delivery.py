"""Scheduled delivery of reports by e-mail through the outbox.

(Placeholder wired into housekeeping; the implementation lands with issue #11.)
"""

from __future__ import annotations

from datetime import datetime

from desk.storage import Store
from weibao.clock import Clock
from weibao.inventory.model import Inventory


class ReportDelivery:
    def __init__(self, store: Store, inventory: Inventory, clock: Clock) -> None:
        self._store = store
        self._inventory = inventory
        self._clock = clock

    def run_once(self, now: datetime) -> None:
        """Queue the reports whose delivery time has come."""
