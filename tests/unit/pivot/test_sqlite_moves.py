"""The pivot engine between two SQLite state files (no API server): a move and its
way back with the log's ids shifted (cursors translated), a failure on the way back
that puts the earlier move's marker back, the journal's text, canonical JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strata.pivot import End, Options, Pivot, PivotFailed, PivotRefused, failpoints
from strata.pivot.digest import canonical, inventory
from strata.pivot.ends import marker, moved_to
from strata.pivot.journal import Journal
from strata.provisioning import Stage
from strata.store import RecordWrite, SQLiteStore, WriterBusy
from strata.store.clusters import StoredCluster


def _state(path: Path, count: int = 5) -> SQLiteStore:
    store = SQLiteStore(path)
    for i in range(count):
        name = f"n{i}"
        store.write_records(
            [RecordWrite(name, 0, "declared", plan={"rack": "r1"}, event=("s", {}))]
        )
        attempt = store.begin_attempt(name, lifetime=60, now=1000.0)
        store.consume(name, attempt.number, Stage.LIVE)
        store.write_records(
            [RecordWrite(name, 1, "provisioned", end_attempt=True, event=("s", {}))]
        )
    store.keep_cluster(StoredCluster("mgmt", "{}", "abcdef.0123456789abcdef", 9.0, "ab", 1.0, 1.0))
    store.set_cursor("controller", store.events_since(0)[-3].id)
    return store


def _move(source: Path, target: Path, lines: list[str]) -> Pivot:
    return Pivot(End.sqlite(source, "lab"), End.sqlite(target, "lab"), Options(say=lines.append))


def test_a_move_and_its_way_back(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    before = inventory(home, history=False)
    _move(a, b, lines).run()
    there = SQLiteStore(b)
    assert inventory(there, history=False) == before
    assert moved_to(home.writer()[0], End.sqlite(b, "lab"))  # type: ignore[index]
    with pytest.raises(WriterBusy, match="moved there by strata pivot"):
        home.acquire_writer("strata apply (pid 1 on x)", ttl=30)
    there.write_records([RecordWrite("n1", 2, "joined", event=("s", {}))])
    there.record("n1", "node-ready", {})
    there.set_cursor("controller", there.events_since(0)[-1].id)
    moved = inventory(there, history=False)
    _move(b, a, lines).run()  # home: its old log cleared, its ids go on from there
    assert inventory(home, history=False).nodes == moved.nodes
    assert [e for e in inventory(home, history=False).log] == moved.log
    last = home.events_since(0)[-1]
    assert last.id > there.events_since(0)[-1].id  # shifted ...
    assert home.cursor("controller") == last.id  # ... and the cursor with them
    assert home.writer() is None and moved_to(there.writer()[0], End.sqlite(a, "lab"))  # type: ignore[index]


def test_a_failure_on_the_way_back_puts_the_earlier_marker_back(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    _move(a, b, lines).run()
    marked = home.writer()

    def broken() -> None:
        raise RuntimeError("disk full")

    failpoints.ACTIONS["copy:secrets"] = broken
    with pytest.raises(PivotFailed, match="RuntimeError: disk full"):
        _move(b, a, lines).run()
    there = SQLiteStore(b)
    assert there.writer() is None  # in charge again
    assert home.writer()[0] == marked[0]  # type: ignore[index]  # still says where it went
    assert home.records() == {}  # the failed copy's state removed
    journal = Journal.from_text(there.note("pivot") or "")
    assert journal.state == "rolled-back" and journal.report[0] == "failed: RuntimeError: disk full"


def test_a_moved_source_is_refused_and_a_busy_one_too(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    lines: list[str] = []
    home = _state(a)
    home.acquire_writer("strata apply (pid 1 on elsewhere)", ttl=600)
    with pytest.raises(PivotRefused, match="holds the source's writer lease: stop it first"):
        _move(a, b, lines).run()
    assert home.note("pivot") is None and (not b.exists() or SQLiteStore(b).records() == {})
    home.release_writer("strata apply (pid 1 on elsewhere)")
    _move(a, b, lines).run()
    with pytest.raises(PivotRefused, match="management plane moved away"):
        _move(a, c, lines).run()


def test_failed_servers_need_consent(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    home.write_records([RecordWrite("n0", 2, "failed", step="install", reason="disk")])
    with pytest.raises(PivotRefused, match="failed servers"):
        _move(a, b, lines).run()
    mover = _move(a, b, lines)
    mover.options.allow_failed = True
    assert mover.run().state == "done"


def test_the_journal_and_canonical_json() -> None:
    journal = Journal.new(
        End("sqlite", "lab", path="/x"), End("kube", "lab", kubeconfig="/k", namespace="n")
    )
    journal.steps["freeze"] = 1.5
    assert Journal.from_text(journal.to_text()) == journal
    assert canonical({"b": 1.0, "a": [2.5, 3.0]}) == '{"a":[2.5,3],"b":1}'
    assert json.loads(canonical({"x": "é"})) == {"x": "é"}
    assert marker("moved", "m1", End("kube", "t", server="https://h", namespace="n")).startswith(
        "the controller in cluster https://h namespace n"
    )


class _Crash(BaseException):
    """Stands for the process dying at a failpoint (nothing after it runs)."""


def test_a_crash_in_the_middle_of_a_rollback_is_rolled_back_by_the_rerun(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    before = inventory(home, history=False)

    def broken() -> None:
        raise RuntimeError("verify would fail")

    def crash() -> None:
        raise _Crash

    failpoints.ACTIONS["after:copy"] = broken
    failpoints.ACTIONS["rollback:target-cleaned"] = crash
    with pytest.raises(_Crash):
        _move(a, b, lines).run()
    assert Journal.from_text(home.note("pivot") or "").state == "rolling-back"
    assert home.writer() is not None  # still frozen: nobody acts
    failpoints.ACTIONS.clear()
    with pytest.raises(PivotFailed, match="verify would fail"):
        _move(a, b, lines).run()  # the same command again: it finishes the rollback
    assert Journal.from_text(home.note("pivot") or "").state == "rolled-back"
    assert home.writer() is None and inventory(home, history=False) == before
    assert SQLiteStore(b).records() == {} and SQLiteStore(b).writer() is None
    assert _move(a, b, lines).run().state == "done"  # and a new move goes through


def test_servers_in_flight_are_refused_and_the_dry_run_writes_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    lines: list[str] = []
    home = _state(a)
    home.write_records([RecordWrite("n2", 2, "booting")])
    home.begin_attempt("n3", lifetime=600)
    mover = _move(a, b, lines)
    mover.options.wait_steady = 0  # refused at once (the wait: test_steady.py)
    with pytest.raises(PivotRefused, match=r"servers in flight .*: n2, n3"):
        mover.run()
    mover = _move(a, b, lines)
    mover.options.dry_run = True
    before = (inventory(home, history=False), home.writer(), home.note("pivot"))
    mover.run()
    assert (inventory(home, history=False), home.writer(), home.note("pivot")) == before
    assert not b.exists()  # a state file that does not exist is not made
    assert "plan dry run: nothing was written" in lines
    assert any(line.startswith("preflight block servers in flight") for line in lines)
