"""Where Strata keeps what it knows: the embedded SQLite store (bootstrap mode)."""

from strata.store.sqlite import Event, SQLiteStore

__all__ = ["Event", "SQLiteStore"]
