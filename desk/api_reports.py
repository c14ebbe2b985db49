"""The report endpoints (``/api/v1/reports/...``).

(Placeholder wired into the app; the implementation lands with issue #11.)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from desk.storage import Store
from weibao.clock import Clock
from weibao.inventory.model import Inventory


def report_router(store: Store, inventory: Inventory, clock: Clock, reader: Any) -> APIRouter:
    """``reader`` is the dependency that admits engineers, managers and customers."""
    return APIRouter()
