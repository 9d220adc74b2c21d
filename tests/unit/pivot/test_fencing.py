"""The fence's order and what it does on a refused write (``strata.pivot.fencing``),
over a real journal kept in a SQLite state file: read, confirm, write; a refused write
while the move is still this run's is read again and written again (a bounded number
of times); once another run has changed the journal, the run stops at once with
``MoveTakenOver`` and writes nothing more. (The conditional writes themselves are
tested against the real API server: tests/integration/pivot/test_move_lease.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.pivot import failpoints
from strata.pivot.fencing import ATTEMPTS, Fence, MoveTakenOver
from strata.pivot.journal import KEY, Kept
from strata.store import SQLiteStore
from strata.store.records import Fenced


def _kept(path: Path) -> tuple[SQLiteStore, Kept]:
    store = SQLiteStore(path)
    assert store.set_note(KEY, "this run's", None)
    return store, Kept(store)


def test_the_read_comes_before_the_confirmation_and_the_write_after(tmp_path: Path) -> None:
    _store, kept = _kept(tmp_path / "s.db")
    said: list[str] = []
    failpoints.ACTIONS["batch:read"] = lambda: said.append("read done")
    failpoints.ACTIONS["batch:confirmed"] = lambda: said.append("confirmed")
    Fence(kept.check).write(
        "batch", lambda: said.append("read") or 1, lambda _: said.append("write")
    )
    assert said == ["read", "read done", "confirmed", "write"]


def test_a_refused_write_under_the_move_is_read_and_written_again(tmp_path: Path) -> None:
    _store, kept = _kept(tmp_path / "s.db")
    fence, reads, writes = Fence(kept.check), [], []

    def write(seen: int) -> None:
        writes.append(seen)
        if len(writes) < 3:
            raise Fenced(f"object at read {seen}")

    fence.write("batch", lambda: reads.append(len(reads)) or len(reads), write)
    assert writes == [1, 2, 3] and fence.conflicts == 2  # each write from a fresh read


def test_a_refused_write_after_a_takeover_stops_the_run(tmp_path: Path) -> None:
    store, kept = _kept(tmp_path / "s.db")
    writes: list[int] = []

    def write(seen: int) -> None:
        writes.append(seen)
        assert store.set_note(KEY, "another run's", "this run's")  # it took the move meanwhile
        raise Fenced("object")

    with pytest.raises(MoveTakenOver, match="the move was taken over"):
        Fence(kept.check).write("batch", lambda: 1, write)
    assert writes == [1]  # not written again
    with pytest.raises(MoveTakenOver):  # and a later batch is not even read into a write
        Fence(kept.check).write("next", lambda: 1, writes.append)
    assert writes == [1]


def test_conflicts_without_end_under_the_move_give_up(tmp_path: Path) -> None:
    _store, kept = _kept(tmp_path / "s.db")
    writes: list[int] = []

    def write(seen: int) -> None:
        writes.append(seen)
        raise Fenced("object")

    with pytest.raises(Fenced):
        Fence(kept.check).write("batch", lambda: 1, write)
    assert len(writes) == ATTEMPTS
