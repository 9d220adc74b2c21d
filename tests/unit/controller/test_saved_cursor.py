"""The controller's log position is saved at most every few seconds, at once when the
entries read held a person's request, and at the run's end (``controller/cursor.py``):
on the Kubernetes store each save is an API request."""

from __future__ import annotations

from pathlib import Path

from strata.controller.cursor import SavedCursor
from strata.controller.reconciler import CURSOR
from strata.store import SQLiteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_position_is_saved_at_most_every_few_seconds(tmp_path: Path) -> None:
    store, clock = SQLiteStore(tmp_path / "s.db"), Clock()
    cursor = SavedCursor(store, CURSOR, every=2.0, clock=clock)
    assert cursor.load() == 0
    cursor.advance(5)  # the first is saved: nothing was saved in this run
    cursor.advance(9)
    clock.now += 1.9
    cursor.advance(12)
    assert store.cursor(CURSOR) == 5, "saved again within 2 s"
    clock.now += 0.1
    cursor.advance(14)
    assert store.cursor(CURSOR) == 14
    cursor.advance(20)
    cursor.save()  # the run's end
    assert store.cursor(CURSOR) == 20
    store.close()


def test_a_request_is_saved_at_once(tmp_path: Path) -> None:
    store, clock = SQLiteStore(tmp_path / "s.db"), Clock()
    cursor = SavedCursor(store, CURSOR, every=2.0, clock=clock)
    cursor.load()
    cursor.advance(3)
    cursor.advance(7, True)  # a retry was among the entries: a restart must not redo it
    assert store.cursor(CURSOR) == 7
    store.close()


def test_a_position_that_did_not_move_is_not_written_again(tmp_path: Path) -> None:
    class Counting(SQLiteStore):
        writes = 0

        def set_cursor(self, name: str, value: int) -> None:
            self.writes += 1
            super().set_cursor(name, value)

    store, clock = Counting(tmp_path / "s.db"), Clock()
    store.set_cursor(CURSOR, 4)
    cursor = SavedCursor(store, CURSOR, clock=clock)
    assert cursor.load() == 4
    cursor.advance(4)
    clock.now += 60
    cursor.save()
    assert store.writes == 1  # only the one before
    store.close()
