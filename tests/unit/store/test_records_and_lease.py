"""Node records with optimistic concurrency, the single-writer lease, and schema migrations.

Two SQLiteStore objects on one file stand for two controllers: each has its own
connection, as two processes would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from strata.store import Conflict, RecordWrite, SchemaTooNew, SQLiteStore, WriterBusy
from strata.store.migrations import MIGRATIONS


def test_records_carry_a_version_and_refuse_a_stale_write(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    first = one.put_record("n1", 0, "declared", {"os_version": "4081.2.0"})
    assert first.version == 1
    assert two.records()["n1"].plan == {"os_version": "4081.2.0"}
    one.put_record("n1", 1, "registering", {"os_version": "4081.2.0"})
    with pytest.raises(Conflict, match="record is at version 2, not 1"):
        two.put_record("n1", 1, "failed", {}, step="inspecting", reason="MAC mismatch")
    record = two.records()["n1"]
    assert (record.version, record.state) == (2, "registering")
    with pytest.raises(Conflict):
        two.put_record("n2", 3, "declared", {})  # not written yet: only version 0 may create it


def test_a_failed_record_keeps_its_step_and_reason(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.put_record(
        "n1", 0, "failed", {}, step="inspecting", reason="NIC 52:54:00:00:00:01 missing"
    )
    record = store.records()["n1"]
    assert (record.step, record.reason) == ("inspecting", "NIC 52:54:00:00:00:01 missing")


def test_one_writer_at_a_time_and_the_second_is_told_who(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    one.acquire_writer("strata apply (pid 100 on seed-1)", ttl=30, now=1000)
    with pytest.raises(
        WriterBusy, match=r"strata apply \(pid 100 on seed-1\) is driving this datacenter"
    ):
        two.acquire_writer("strata apply (pid 200 on seed-1)", ttl=30, now=1010)
    one.acquire_writer("strata apply (pid 100 on seed-1)", ttl=30, now=1020)  # renewal
    assert two.writer(now=1040) == ("strata apply (pid 100 on seed-1)", 1050)
    two.acquire_writer("strata apply (pid 200 on seed-1)", ttl=30, now=1051)  # the lease ran out
    assert one.writer(now=1052) == ("strata apply (pid 200 on seed-1)", 1081)
    one.release_writer("strata apply (pid 100 on seed-1)")  # not its lease: nothing happens
    assert one.writer(now=1052) is not None
    two.release_writer("strata apply (pid 200 on seed-1)")
    assert one.writer(now=1052) is None


def test_a_version_1_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO meta VALUES ('schema_version', 1)")
    db.execute("INSERT INTO events (node, at, kind, detail) VALUES ('n1', 1.0, 'installed', '{}')")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    assert [e.kind for e in store.events("n1")] == ["installed"]  # kept
    store.put_record("n1", 0, "provisioned", {})  # and the new tables exist
    assert store._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[
        0
    ] == len(MIGRATIONS)


def test_a_file_from_a_newer_strata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (len(MIGRATIONS) + 1,))
    db.commit()
    db.close()
    with pytest.raises(SchemaTooNew, match="this Strata knows up to"):
        SQLiteStore(path)


def test_a_batch_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.write_records(
        [
            RecordWrite("n1", 0, "declared", plan={"os_version": "1"}, event=("declared", {})),
            RecordWrite("n1", 1, "registering", event=("state", {"to": "registering"})),
            RecordWrite("n2", 0, "declared", plan={}, marks={"attempt": 3}),
        ]
    )
    records = store.records()
    assert (records["n1"].version, records["n1"].state) == (2, "registering")
    assert records["n1"].plan == {"os_version": "1"}  # plan=None keeps the recorded plan
    assert records["n2"].marks == {"attempt": 3}
    with pytest.raises(Conflict):
        store.write_records(
            [RecordWrite("n2", 1, "registering", event=("state", {})), RecordWrite("n1", 1, "x")]
        )
    assert store.records()["n2"].state == "declared"  # the first write of the batch undone
    assert [e.kind for e in store.events("n2")] == []


def test_the_log_is_read_from_a_position_and_the_cursor_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    for kind in ("ipxe-fetched", "ignition-fetched", "installed"):
        store.record("n1", kind, {"attempt": 1})
    first, *rest = store.events_since(0)
    assert [e.kind for e in rest] == ["ignition-fetched", "installed"]
    assert [e.kind for e in store.events_since(first.id)] == ["ignition-fetched", "installed"]
    assert [e.kind for e in store.recent_events(1)] == ["installed"]
    assert store.cursor("controller") == 0
    store.set_cursor("controller", first.id)
    assert SQLiteStore(tmp_path / "s.db").cursor("controller") == first.id


def test_marks_change_without_a_new_version(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.put_record("n1", 0, "provisioning", {})
    store.set_marks("n1", {"attempt": 2, "powered": 2})
    record = store.records()["n1"]
    assert (record.version, record.marks) == (1, {"attempt": 2, "powered": 2})


def test_a_dead_holders_lease_is_taken_over_only_by_name(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.acquire_writer("a", ttl=30, now=1000)
    with pytest.raises(WriterBusy):
        store.acquire_writer("b", ttl=30, now=1001, replacing="c")
    store.acquire_writer("b", ttl=30, now=1001, replacing="a")
    assert store.writer(now=1002) == ("b", 1031)


def test_a_status_reader_opens_read_only_and_takes_no_write_lock(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "s.db")
    writer.put_record(
        "n1", 0, "registering", {"layer": "mgmt", "region": "r", "zone": "z", "rack": "k"}
    )
    writer._db.execute("BEGIN IMMEDIATE")  # the controller mid-transaction
    try:
        reader = SQLiteStore(tmp_path / "s.db", read_only=True)
        (summary,) = reader.summaries()
        assert (summary.name, summary.state, summary.layer, summary.rack) == (
            "n1",
            "registering",
            "mgmt",
            "k",
        )
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.put_record("n2", 0, "declared", {})
    finally:
        writer._db.execute("ROLLBACK")
