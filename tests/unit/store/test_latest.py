"""``SQLiteStore.latest``: a node's newest log entry of some kinds (what status reads of
each layer's API)."""

from __future__ import annotations

from pathlib import Path

from strata.provisioning import LogKind
from strata.store import SQLiteStore

API = (LogKind.API_ANSWERED, LogKind.API_UNREACHABLE)


def test_the_newest_entry_of_the_kinds_asked_for_on_that_node(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    assert store.latest(API, "cp-0") is None and store.latest((), "cp-0") is None
    store.record("cp-0", LogKind.API_UNREACHABLE, {"layer": "mgmt", "reason": "refused"})
    store.record("cp-0", LogKind.API_ANSWERED, {"layer": "mgmt"})
    store.record("cp-0", LogKind.NODE_READY, {})  # newer, of another kind
    store.record("cp-1", LogKind.API_UNREACHABLE, {"layer": "mgmt", "reason": "other node"})
    newest = store.latest(API, "cp-0")
    assert newest is not None
    assert (newest.node, newest.kind, dict(newest.detail)) == (
        "cp-0",
        "api-answered",
        {"layer": "mgmt"},
    )
    assert newest.id > 0 and newest.at > 0
    only = store.latest([LogKind.API_UNREACHABLE], "cp-0")
    assert only is not None and only.detail["reason"] == "refused" and only.id < newest.id
    assert store.latest(API, "cp-9") is None
    store.close()
    reader = SQLiteStore(tmp_path / "s.db", read_only=True)  # what status opens
    assert reader.latest(API, "cp-1") is not None
