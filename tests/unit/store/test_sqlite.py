"""The embedded store: attempts, single-use tokens, events, unknown machines; mode 0600, WAL."""

from __future__ import annotations

import stat
from pathlib import Path

from strata.boot import Stage, UnknownMachine
from strata.store import SQLiteStore


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state" / "strata.db")
    assert stat.S_IMODE((tmp_path / "state" / "strata.db").stat().st_mode) == 0o600
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len(store.token_key()) == 32
    key = store.token_key()
    store.close()
    assert SQLiteStore(tmp_path / "state" / "strata.db").token_key() == key  # kept across restarts


def test_attempts(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    assert store.attempt("n1") is None
    first = store.begin_attempt("n1", lifetime=600, now=1000)
    assert (first.number, first.expires) == (1, 1600)
    assert store.attempt("n1") == first
    assert store.begin_attempt("n1", lifetime=600, now=2000).number == 2
    store.end_attempt("n1", provisioned=True)
    assert store.attempt("n1") is None


def test_a_token_is_consumed_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    assert store.consume("n1", 1, Stage.LIVE) is True
    assert store.consume("n1", 1, Stage.LIVE) is False
    assert store.consume("n1", 1, Stage.FINAL) is True
    assert store.consume("n1", 2, Stage.LIVE) is True


def test_events_and_unknown_machines(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.record("n1", "ipxe-fetched", {"mac": "52:54:00:00:00:01"})
    store.record("n1", "installed", {})
    assert [(e.kind, dict(e.detail)) for e in store.events("n1")] == [
        ("ipxe-fetched", {"mac": "52:54:00:00:00:01"}),
        ("installed", {}),
    ]
    machine = UnknownMachine("52:54:00:99:00:01", "uuid-1", "SN1", "x86_64", "efi")
    store.record_unknown(machine)
    store.record_unknown(machine)
    [seen] = store.unknown_machines()
    assert (seen["mac"], seen["serial"], seen["boots"]) == ("52:54:00:99:00:01", "SN1", 2)
