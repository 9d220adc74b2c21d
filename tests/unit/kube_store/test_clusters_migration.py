"""Migration 4 (the ``clusters`` table) on a state file an earlier Strata wrote: its
records and log are kept, a reader is still told to let a writer migrate it first, and
the file stays private with secrets in it."""

from __future__ import annotations

import datetime
import sqlite3
import stat
from pathlib import Path

import pytest

from strata.kube.material_store import cluster_material
from strata.plan.model import ClusterPlan
from strata.store import SQLiteStore, StateFileError
from strata.store.migrations import MIGRATIONS

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
LAYER = ClusterPlan(
    "mgmt", 1, "kubeadm", "1.31.2", "https://192.168.110.10:6443", "10.244.0.0/16",
    "10.96.0.0/12", "seed", False, ("cp-0",), ("worker-0",),
)  # fmt: skip


def schema_3_file(path: Path) -> None:
    """A state file as the Strata before migration 4 left it: one node record, one event."""
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', 3)")
    db.execute(
        "INSERT INTO node_records VALUES ('n1', 4, 'provisioned', NULL, NULL, "
        "'{\"layer\": \"mgmt\"}', 1.0, NULL, '{}')"
    )
    db.execute("INSERT INTO events (node, at, kind, detail) VALUES ('n1', 1.0, 'installed', '{}')")
    db.commit()
    db.close()
    path.chmod(0o600)


def test_migration_4_creates_the_clusters_table() -> None:
    assert "CREATE TABLE clusters" in MIGRATIONS[3]


def test_a_schema_3_file_keeps_its_records_and_gains_the_clusters_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    schema_3_file(path)
    store = SQLiteStore(path)
    version = store._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert int(version[0]) == len(MIGRATIONS)
    record = store.records()["n1"]
    assert (record.version, record.state, record.plan) == (4, "provisioned", {"layer": "mgmt"})
    assert [e.kind for e in store.events("n1")] == ["installed"]
    assert store.cluster("mgmt") is None
    material = cluster_material(store, LAYER, NOW, all_joined=lambda: False)
    again = SQLiteStore(path).cluster("mgmt")
    assert again is not None and again.token == material.token.value


def test_a_reader_of_a_schema_3_file_is_told_to_migrate_it_first(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    schema_3_file(path)
    older = f"schema version 3, older than this Strata's {len(MIGRATIONS)}"
    with pytest.raises(StateFileError, match=older):
        SQLiteStore(path, read_only=True)


def test_the_state_stays_private_with_cluster_secrets_in_it(tmp_path: Path) -> None:
    path = tmp_path / ".strata" / "strata.db"
    store = SQLiteStore(path)
    cluster_material(store, LAYER, NOW, all_joined=lambda: False)
    for name in ("strata.db", "strata.db-wal"):
        assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
