"""The desk's storage: the one package that talks to the database (SQLite or PostgreSQL)."""

from desk.storage.database import DatabaseError, StoreUnavailable
from desk.storage.records import (
    DueTimes,
    EventRecord,
    NewTicket,
    TicketFields,
    TicketQuery,
    TicketRecord,
    TokenRecord,
)
from desk.storage.store import Store
from desk.storage.transaction import StoreTx

__all__ = [
    "DatabaseError",
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
]
