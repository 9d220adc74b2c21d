"""The controller reads back only the log entries it acts on (not its own state changes):
the store filters them by kind (both stores do: the contract suite checks ``kinds``)."""

from __future__ import annotations

import time
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
    per entry read, but of those written before the reader's first read (no loop ran);
    the timers tell theirs past their due time, but of those due before their first look."""
    store = SQLiteStore(tmp_path / "s.db")
    before = _log(store)  # written while no controller ran
    told: list[tuple[str, float]] = []
    clock = [max(e.at for e in before) + 1e-6]  # then the controller starts
    read = log_reader(store, lambda source, s: told.append((source, s)), lambda: clock[0])
    assert len(read(0)) == 3 and told == []  # caught up: no loop was late
    time.sleep(0.01)
    store.record("n1", "ipxe-fetched", {"attempt": 2})
    (written,) = [e for e in store.events_since(0) if e.detail.get("attempt") == 2]
    clock[0] = written.at + 0.25  # the next poll
    assert [e.id for e in read(before[-1].id)] == [written.id]
    assert told == [("event", 0.25)]
    assert read(written.id) == [] and len(told) == 1
    told.clear()
    timers = Timers(lambda source, s: told.append((source, s)))
    timers.add(10.0, "n0", 1, "deadline")  # a deadline that passed while no loop ran
    assert [name for name, _, _ in timers.due(11.0)] == ["n0"] and told == []
    timers.add(12.0, "n1", 1, "deadline")
    timers.add(11.5, "n2", 1, "retry")
    timers.add(30.0, "n3", 1, "deadline")
    assert [name for name, _, _ in timers.due(14.0)] == ["n2", "n1"]
    assert told == [("timer", 2.5), ("timer", 2.0)]
