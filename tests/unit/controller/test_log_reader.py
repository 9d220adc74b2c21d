"""The controller reads back only the log entries it acts on (not its own state changes):
the store filters them by kind (both stores do: the contract suite checks ``kinds``)."""

from __future__ import annotations

from pathlib import Path

from strata.controller.inputs import READS, log_reader
from strata.controller.timers import Timers
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


def test_the_loop_lag_of_each_entry_read_is_told_from_its_writing(tmp_path: Path) -> None:
    """``ApplyOptions.observe_lag``: ("event", seconds since the entry was written), once
    per entry read, none for an empty read; the timers tell theirs past their due time."""
    store = SQLiteStore(tmp_path / "s.db")
    written = _log(store)
    told: list[tuple[str, float]] = []
    now = max(e.at for e in written) + 2.0
    read = log_reader(store, lambda source, s: told.append((source, s)), lambda: now)(0)
    assert [source for source, _ in told] == ["event"] * len(read)
    assert [round(s, 6) for _, s in told] == [round(now - e.at, 6) for e in read]
    told.clear()
    assert log_reader(store, lambda source, s: told.append((source, s)))(read[-1].id) == []
    assert told == []
    timers = Timers(lambda source, s: told.append((source, s)))
    timers.add(10.0, "n1", 1, "deadline")
    timers.add(11.5, "n2", 1, "retry")
    timers.add(30.0, "n3", 1, "deadline")
    assert [name for name, _, _ in timers.due(12.0)] == ["n1", "n2"]
    assert told == [("timer", 2.0), ("timer", 0.5)]
