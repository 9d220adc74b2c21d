"""Faults found by trying to break ``strata pivot`` (between two SQLite state files,
no API server): a move of nothing called a success, a dry run that acted, and
``--back`` after a move that stopped taking the plane away instead of home."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.cli.pivot_cmd import _back_or_abort
from strata.pivot import End, Options, Pivot, PivotFailed, PivotRefused, failpoints
from strata.pivot.digest import inventory
from strata.pivot.journal import Journal, JournalTaken
from strata.store import RecordWrite, SQLiteStore


class _Crash(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def _state(path: Path, count: int = 3) -> SQLiteStore:
    store = SQLiteStore(path)
    for i in range(count):
        store.write_records([RecordWrite(f"n{i}", 0, "declared", plan={}, event=("s", {}))])
        store.write_records([RecordWrite(f"n{i}", 1, "provisioned", event=("s", {}))])
    return store


def _move(source: Path, target: Path, lines: list[str], **options: bool) -> Pivot:
    ends = End.sqlite(source, "lab"), End.sqlite(target, "lab")
    return Pivot(*ends, Options(say=lines.append, **options))


def _crash(name: str) -> None:
    def action() -> None:
        raise _Crash

    failpoints.ACTIONS[name] = action


def test_an_empty_source_is_refused_not_moved_as_a_success(tmp_path: Path) -> None:
    # A wrong -t / -n / --state names a place with no state: the move "succeeded",
    # verify found 0 == 0, and the empty source was left saying "moved".
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    empty = SQLiteStore(a)
    with pytest.raises(PivotRefused, match="nothing to move"):
        _move(a, b, lines).run()
    assert empty.writer() is None and empty.note("pivot") is None


def test_a_dry_run_does_not_finish_a_rollback(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)

    def broken() -> None:
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = broken
    _crash("rollback:target-cleaned")
    with pytest.raises(_Crash):
        _move(a, b, lines).run()
    failpoints.ACTIONS.clear()
    before = (home.note("pivot"), home.writer(), SQLiteStore(b).writer())
    _move(a, b, lines, dry_run=True).run()
    assert (home.note("pivot"), home.writer(), SQLiteStore(b).writer()) == before
    assert any("rolling back" in line and "not finished by a dry run" in line for line in lines)
    with pytest.raises(PivotFailed):
        _move(a, b, lines).run()  # the real run finishes it
    assert Journal.from_text(home.note("pivot") or "").state == "rolled-back"


def _killed_at(
    a: Path, b: Path, point: str, monkeypatch: pytest.MonkeyPatch, back: bool = False
) -> None:
    """A move killed at ``point``: no rollback runs (as after a SIGKILL)."""

    def dead(self: Pivot, reason: str) -> None:
        raise _Crash

    _crash(point)
    with monkeypatch.context() as patched:
        patched.setattr(Pivot, "rollback", dead)
        with pytest.raises(_Crash):
            _move(a, b, [], back=back).run()
    failpoints.ACTIONS.clear()


@pytest.mark.parametrize("point", ["after:copy", "switch:target-taken", "journaled:switch"])
@pytest.mark.parametrize("given", ["source", "target"])
def test_back_after_a_move_that_stopped_brings_the_plane_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str, given: str
) -> None:
    # Before: --back finished the stopped move and stopped there, the plane in the
    # target and "now lives in" the target printed, the opposite of what was asked.
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    before = inventory(home, history=False)
    _killed_at(a, b, point, monkeypatch)
    end = End.sqlite(a if given == "source" else b, "lab")
    _back_or_abort(end, Options(say=lines.append), back=True)
    assert home.writer() is None  # home in charge again
    assert inventory(home, history=False).nodes == before.nodes
    assert SQLiteStore(b).records() == {} or SQLiteStore(b).writer() is not None
    assert SQLiteStore(b).writer() is None or "moved there" in SQLiteStore(b).writer()[0]  # type: ignore[index]


def test_back_after_a_way_back_that_stopped_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    _move(a, b, lines).run()
    _killed_at(b, a, "after:copy", monkeypatch, back=True)  # --back killed mid-way
    _back_or_abort(End.sqlite(a, "lab"), Options(say=lines.append), back=True)
    assert home.writer() is None and home.records()
    assert "moved there" in (SQLiteStore(b).writer() or ("",))[0]


def test_back_again_after_a_way_back_that_was_rolled_back(tmp_path: Path) -> None:
    # Before: "the last move was rolled-back: nothing to go back to", the plane away.
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    _move(a, b, lines).run()

    def broken() -> None:
        raise RuntimeError("disk full")

    failpoints.ACTIONS["copy:secrets"] = broken
    with pytest.raises(PivotFailed):
        _back_or_abort(End.sqlite(b, "lab"), Options(say=lines.append), back=True)
    failpoints.ACTIONS.clear()
    _back_or_abort(End.sqlite(a, "lab"), Options(say=lines.append), back=True)
    assert home.writer() is None and home.records()


def test_an_abort_while_the_move_runs_keeps_it_from_switching(tmp_path: Path) -> None:
    # Before: the running move switched after --abort had cleared the target: the
    # source said "moved" to an empty target.
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    before = inventory(home, history=False)

    def aborted_meanwhile() -> None:
        other = _move(a, b, lines)
        other.abort()
        other.close()

    failpoints.ACTIONS["before:switch"] = aborted_meanwhile
    with pytest.raises((JournalTaken, PivotFailed)):
        _move(a, b, lines).run()
    assert home.writer() is None and inventory(home, history=False) == before
    assert Journal.from_text(home.note("pivot") or "").state == "rolled-back"


def test_a_second_run_of_a_running_move_stops_the_first(tmp_path: Path) -> None:
    # Before: the first run went on copying after the second had finished the move and
    # the target's controller had written: its stale copy of n1 written over that.
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    _state(a)

    def second_run_meanwhile() -> None:
        failpoints.ACTIONS.clear()
        assert _move(a, b, lines).run().state == "done"
        there = SQLiteStore(b)
        there.write_records([RecordWrite("n1", 2, "joined")])

    failpoints.ACTIONS["copy:secrets"] = second_run_meanwhile
    with pytest.raises(JournalTaken):
        _move(a, b, lines).run()
    assert SQLiteStore(b).records()["n1"].state == "joined"


@pytest.mark.parametrize("back", [False, True])
def test_abort_or_back_with_dry_run_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, back: bool
) -> None:
    # Before: --abort --dry-run rolled the move back for real.
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    _killed_at(a, b, "after:copy", monkeypatch)
    there = SQLiteStore(b)
    before = (home.note("pivot"), home.writer(), there.writer(), inventory(there, history=False))
    _back_or_abort(End.sqlite(a, "lab"), Options(say=lines.append, dry_run=True), back=back)
    after = (home.note("pivot"), home.writer(), there.writer(), inventory(there, history=False))
    assert after == before
    assert any("dry run" in line for line in lines)
