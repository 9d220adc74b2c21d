"""Where Strata keeps what it knows: the embedded SQLite store (bootstrap mode)."""

from strata.store.migrations import SchemaTooNew
from strata.store.sqlite import Conflict, Event, NodeRecord, SQLiteStore, WriterBusy

__all__ = ["Conflict", "Event", "NodeRecord", "SQLiteStore", "SchemaTooNew", "WriterBusy"]
