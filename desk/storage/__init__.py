"""The desk's storage: the one package that talks to the database (SQLite or PostgreSQL).

The records (:mod:`desk.storage.records`) are plain dataclasses that the pure parts of the
desk (the clock replay, the steps) and the HTTP-only ``weibao ticket`` command use too:
importing them must not load SQLAlchemy (half a second at every command). So the store,
its transaction and errors are imported from here only when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from desk.storage.records import (
    DueTimes,
    EventRecord,
    NewTicket,
    TicketFields,
    TicketQuery,
    TicketRecord,
    TokenRecord,
)

if TYPE_CHECKING:
    from desk.storage.database import DatabaseError, StoreUnavailable, WriteConflict
    from desk.storage.store import Store
    from desk.storage.transaction import DeviceMemory, StoreTx

_LAZY = {
    "DatabaseError": "desk.storage.database",
    "StoreUnavailable": "desk.storage.database",
    "WriteConflict": "desk.storage.database",
    "Store": "desk.storage.store",
    "DeviceMemory": "desk.storage.transaction",
    "StoreTx": "desk.storage.transaction",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'desk.storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DatabaseError",
    "DeviceMemory",
    "DueTimes",
    "EventRecord",
    "NewTicket",
    "Store",
    "StoreTx",
    "StoreUnavailable",
    "TicketFields",
    "TicketQuery",
    "TicketRecord",
    "TokenRecord",
    "WriteConflict",
]
