"""The controller reads back only the log entries it acts on (not its own state changes):
the store filters them by kind (both stores do: the contract suite checks ``kinds``)."""

from __future__ import annotations

from pathlib import Path

from strata.controller.inputs import READS, log_reader
from strata.store import LogEntry, RecordWrite, SQLiteStore


def _log(store: SQLiteStore) -> list[LogEntry]:
    store.write_records([RecordWrite("n1", 0, "declared", plan={}, event=("declared", {}))])
    store.record("n1", "ipxe-fetched", {"attempt": 1})
    store.write_records([RecordWrite("n1", 1, "joining", event=("state", {"to": "joining"}))])
    store.record_many([("n1", "node-registered", {"reason": "x"}), ("n1", "node-ready", {})])
    return store.events_since(0)


def test_a_filtering_store_gives_only_what_the_controller_acts_on(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    everything = _log(store)
    read = log_reader(store)(0)
    assert [e.kind for e in read] == ["ipxe-fetched", "node-registered", "node-ready"]
    assert read == [e for e in everything if e.kind in READS]
    assert log_reader(store)(read[0].id) == read[1:]
