"""Servers in flight: the move waits for them (bounded, ``Options.wait_steady``) while
what drives them may still act, refuses at the bound naming them, and checks again
under the freeze — a server that began moving between the wait and the freeze is let
settle (the freeze given back) before the move goes on. Between two state files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from strata.pivot import End, Options, Pivot, PivotFailed, PivotRefused, failpoints
from strata.pivot.digest import inventory
from strata.pivot.journal import Journal
from strata.store import RecordWrite, SQLiteStore

APPLY = "strata apply (pid 4242 on test)"


def _state(path: Path) -> SQLiteStore:
    """n0, n1 provisioned; n2 booting with its attempt open; n3 provisioning."""
    store = SQLiteStore(path)
    for i, state in enumerate(("provisioned", "provisioned", "booting", "provisioning")):
        store.write_records([RecordWrite(f"n{i}", 0, state, plan={"rack": "r1"}, event=("s", {}))])
    store.begin_attempt("n2", lifetime=3600)
    return store


def _move(a: Path, b: Path, lines: list[str], **options: object) -> Pivot:
    chosen = Options(say=lines.append, **options)  # type: ignore[arg-type]
    return Pivot(End.sqlite(a, "lab"), End.sqlite(b, "lab"), chosen)


def _controller(
    path: Path, after: float, names: tuple[str, ...] = ("n2", "n3")
) -> threading.Thread:
    """A controller of its own connection: holds the writer lease, takes ``names`` to
    provisioned (their attempts ended) after ``after`` seconds, then lets go."""

    def run() -> None:
        store = SQLiteStore(path)
        store.acquire_writer(APPLY, ttl=60)
        time.sleep(after)
        records = store.records()
        store.write_records(
            [
                RecordWrite(n, records[n].version, "provisioned", end_attempt=True, event=("s", {}))
                for n in names
            ]
        )
        time.sleep(0.5)
        store.release_writer(APPLY)
        store.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _honouring_the_freeze(path: Path, name: str, lines: list[str]) -> threading.Thread:
    """A controller that began acting just before the freeze: it stops once the move
    holds the lease, and takes ``name`` to provisioned once it is given back."""

    def run() -> None:
        store = SQLiteStore(path)
        while not any(line.startswith("frozen with") for line in lines):  # frozen, thawed
            time.sleep(0.01)
        while store.writer() is not None:
            time.sleep(0.01)
        store.acquire_writer(APPLY, ttl=60)
        record = store.records()[name]
        store.write_records([RecordWrite(name, record.version, "provisioned", event=("s", {}))])
        store.release_writer(APPLY)
        store.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_move_waits_for_servers_in_flight_then_goes_on(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    home, lines = _state(a), list[str]()
    controller = _controller(a, after=3.0)
    time.sleep(0.2)  # the controller holds the lease before the move looks
    assert _move(a, b, lines, wait_steady=120).run().state == "done"
    controller.join(10)
    waiting = [line for line in lines if line.startswith("waiting: ")]
    assert waiting[0].startswith(
        "waiting: 2 servers in flight (booting 1, provisioning 1); driven by " + APPLY
    ), lines
    assert "waiting: every server is steady" in waiting
    assert len(waiting) <= 4  # said on a change (or every 30 s), not at every read
    assert inventory(SQLiteStore(b), history=False) == inventory(home, history=False)
    assert {r.state for r in SQLiteStore(b).records().values()} == {"provisioned"}


def test_at_the_bound_the_move_is_refused_naming_them_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    home, lines = _state(a), list[str]()
    before = (inventory(home, history=False), home.writer(), home.note("pivot"))
    started = time.monotonic()
    with pytest.raises(PivotRefused, match=r"servers in flight .*: n2, n3"):
        _move(a, b, lines, wait_steady=2.5).run()
    assert time.monotonic() - started >= 2.5  # it waited the bound
    assert any("no controller is driving them" in line for line in lines), lines
    assert any(line.startswith("waiting: still 2 servers in flight") for line in lines)
    assert (inventory(home, history=False), home.writer(), home.note("pivot")) == before
    assert not b.exists()


def test_no_wait_with_zero_nor_in_a_dry_run(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    _state(a)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(PivotRefused, match="servers in flight"):
        _move(a, b, lines, wait_steady=0).run()
    _move(a, b, lines, wait_steady=600, dry_run=True).run()
    assert time.monotonic() - started < 30 and not any(x.startswith("waiting") for x in lines)
    assert "plan dry run: nothing was written" in lines


def test_a_server_moving_between_the_wait_and_the_freeze_is_let_settle(tmp_path: Path) -> None:
    """Frozen, it could not settle (the controller stops, the boot service refuses
    writes): the freeze is given back until it has, then taken again."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    home, lines = _state(a), list[str]()
    _controller(a, after=0.1).join(10)  # steady now
    started: list[threading.Thread] = []

    def moves_now() -> None:  # after the wait, before the freeze: a server starts moving
        if not started:
            record = home.records()["n1"]
            home.write_records([RecordWrite("n1", record.version, "deprovisioning")])
            started.append(_honouring_the_freeze(a, "n1", lines))

    failpoints.ACTIONS["before:freeze"] = moves_now
    journal = _move(a, b, lines, wait_steady=120).run()
    assert journal.state == "done"
    assert any(
        line.startswith("frozen with 1 server in flight (deprovisioning 1)") for line in lines
    ), lines
    assert SQLiteStore(b).records()["n1"].state == "provisioned"
    assert inventory(SQLiteStore(b), history=False) == inventory(home, history=False)


def test_still_moving_under_the_freeze_at_the_bound_rolls_back(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    home, lines = _state(a), list[str]()
    _controller(a, after=0.1).join(10)

    def moves_now() -> None:
        record = home.records()["n1"]
        home.write_records([RecordWrite("n1", record.version, "inspecting")])

    failpoints.ACTIONS["before:freeze"] = moves_now
    with pytest.raises(PivotFailed, match=r"servers in flight at the bound: n1"):
        _move(a, b, lines, wait_steady=1.0).run()
    assert home.writer() is None  # not left frozen
    assert Journal.from_text(home.note("pivot") or "").state == "rolled-back"
