"""Reading the log for some kinds only: what the controller reads (the boot service's,
the watches' and people's entries), without its own state changes."""

from __future__ import annotations

from pathlib import Path

from strata.store import RecordWrite, SQLiteStore


def test_only_the_kinds_asked_for_are_read_in_order_and_from_a_position(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.write_records([RecordWrite("n1", 0, "declared", plan={}, event=("declared", {}))])
    store.record("n1", "ipxe-fetched", {"attempt": 1})
    store.write_records([RecordWrite("n1", 1, "booting", event=("state", {"to": "booting"}))])
    store.record_many([("n1", "installed", {"attempt": 1}), ("n2", "node-ready", {})])
    everything = store.events_since(0)
    assert [e.kind for e in everything] == [
        "declared",
        "ipxe-fetched",
        "state",
        "installed",
        "node-ready",
    ]
    wanted = {"ipxe-fetched", "installed", "node-ready"}
    read = store.events_since(0, kinds=wanted)
    assert read == [e for e in everything if e.kind in wanted]  # same entries, same ids
    assert store.events_since(read[0].id, kinds=wanted) == read[1:]
    assert store.events_since(0, limit=2, kinds=wanted) == read[:2]
    assert store.events_since(0, kinds=frozenset()) == []
    assert store.events_since(0, kinds=None) == everything  # the default: every entry
