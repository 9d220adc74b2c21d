"""Where Strata keeps what it knows: the store interface and the embedded SQLite store."""

from strata.store.migrations import SchemaTooNew
from strata.store.records import (
    Conflict,
    LogEntry,
    NodeRecord,
    NodeSummary,
    RecordWrite,
    Store,
    WriterBusy,
)
from strata.store.sqlite import SQLiteStore
from strata.store.state_file import StateDamaged, StateFileError, StateLost

__all__ = [
    "Conflict",
    "LogEntry",
    "NodeRecord",
    "NodeSummary",
    "RecordWrite",
    "SQLiteStore",
    "SchemaTooNew",
    "StateDamaged",
    "StateFileError",
    "StateLost",
    "Store",
    "WriterBusy",
]
