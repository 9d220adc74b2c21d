"""A state file's fence for a move into it (``strata pivot --back``;
``SQLiteMove.claim_fence``): the run that took the move over claims a higher epoch,
and every later move write of an earlier run's store object is refused inside its own
transaction — nothing of it lands — while a claim of a lower epoch cannot take the
file back. Two store objects on one real file stand in for the two runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.store import Fenced, LogEntry, NodeCopy, NodeRecord, RecordWrite, SQLiteStore


def _copy(name: str, reason: str) -> NodeCopy:
    record = NodeRecord(name, 3, "provisioned", None, reason, {"layer": "mgmt"}, 1.0)
    return NodeCopy(name, record, 1, None, True, ())


def test_a_later_claim_fences_every_move_write_of_the_earlier_run(tmp_path: Path) -> None:
    path = tmp_path / "strata.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    first.claim_fence("m1", 1)
    first.import_nodes([_copy("a", "first's")])
    second.claim_fence("m1", 2)  # took the move over
    second.import_nodes([_copy("a", "second's")])
    writes = [
        lambda: first.import_nodes([_copy("a", "first's, late")]),
        lambda: first.append_log([LogEntry("a", 2.0, "late", {})]),
        lambda: first.put_token_key(b"k" * 32),
        lambda: first.set_cursor("controller", 9),
        lambda: first.clear(),
    ]
    for write in writes:
        with pytest.raises(Fenced, match=r"another run of the move claimed it \(epoch 2"):
            write()
    with pytest.raises(Fenced, match=r"run 2 of move m1 claimed it after this one \(1\)"):
        first.claim_fence("m1", 1)
    kept = second.records()["a"]
    assert kept.reason == "second's" and second.events_since(0, 10) == []
    assert second.cursor("controller") == 0


def test_a_run_of_an_ended_move_cannot_claim_the_file_back(tmp_path: Path) -> None:
    path = tmp_path / "strata.db"
    stalled, later = SQLiteStore(path), SQLiteStore(path)
    stalled.claim_fence("m1", 1)
    later.claim_fence("m2", 1)  # m1 aborted meanwhile, then a new way back began
    with pytest.raises(Fenced, match="move m1 ended; a later one claimed it"):
        stalled.claim_fence("m1", 1)
    with pytest.raises(Fenced):
        stalled.import_nodes([_copy("a", "m1's, stale")])
    assert "a" not in later.records()


def test_another_move_or_no_claim_is_not_fenced(tmp_path: Path) -> None:
    path = tmp_path / "strata.db"
    old, new, plain = SQLiteStore(path), SQLiteStore(path), SQLiteStore(path)
    old.claim_fence("m1", 5)
    new.claim_fence("m2", 1)  # a later move (its own epochs) replaces an ended one's
    new.import_nodes([_copy("a", "m2's")])
    plain.write_records([RecordWrite("a", 3, "provisioned", reason="the host's own")])
    plain.set_cursor("controller", 4)  # the controller's writes are not a move's
    assert plain.records()["a"].reason == "the host's own"
