"""Which writer-lease holders stop the in-cluster controller: a move's own markers
(``strata.pivot.ends.marker``), read from a real store (SQLite), and no other holder."""

from __future__ import annotations

import threading
from pathlib import Path

from strata.operator.moving import Held, Watch, held
from strata.pivot.ends import End, marker
from strata.store import SQLiteStore


def test_a_moves_holders_are_moving_or_moved_and_no_other_holder_is(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    other = End.sqlite(tmp_path / "elsewhere.db", "lab")
    assert held(store) is None
    store.acquire_writer("strata apply pid 42", 60)  # another writer: not a move's
    assert held(store) is None
    store.release_writer("strata apply pid 42")
    for role, reason in [
        ("frozen", "Moving"),
        ("receiving", "Moving"),
        ("taking-over", "Moving"),
        ("moved", "Moved"),
    ]:
        holder = marker(role, "m-1", other)
        store.acquire_writer(holder, 60)
        assert held(store) == Held(reason, holder)
        assert holder in Held(reason, holder).message()
        store.release_writer(holder)
    store.acquire_writer(marker("frozen", "m-2", other), 60, now=0.0)  # long expired
    assert held(store) is None
    store.close()


def test_the_watch_stops_the_run_when_a_move_freezes_the_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    stop = threading.Event()
    holder = marker("frozen", "m-1", End.sqlite(tmp_path / "elsewhere.db", "lab"))
    with Watch(store, stop, 0.01) as watch:
        assert not stop.wait(0.1) and watch.seen is None  # nothing held: the run goes on
        store.acquire_writer(holder, 60)
        assert stop.wait(30)  # a hang guard
    assert watch.seen == Held("Moving", holder)
    store.close()
