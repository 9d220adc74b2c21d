"""The contract of ``MovableStore`` (what ``strata pivot`` reads out of one store and
writes into another), run unchanged on both backends: a store's whole state read out,
written into an empty store of the same backend, and read back equal — versions,
times, attempts and used token stages kept; the log appended with its own times;
cursors, cluster layers, the token key; ``clear``; notes by compare-and-swap.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from strata.provisioning import Stage
from strata.store import KubeStore, LogEntry, MovableStore, RecordWrite, SQLiteStore
from strata.store.clusters import StoredCluster
from tests.integration.store.conftest import OpenStore, kube_store

PLAN = {"layer": "mgmt", "region": "eu", "zone": "z1", "rack": "r1", "os_version": "4081.2.0"}
_fresh = itertools.count()


@pytest.fixture
def empty(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> MovableStore:
    """Another store of the same backend, with nothing in it."""
    made: SQLiteStore | KubeStore
    if backend == "sqlite":
        made = SQLiteStore(tmp_path / f"other-{next(_fresh)}.db")
    else:
        made = kube_store(request.getfixturevalue("crd_applied"), f"empty{next(_fresh)}")
    request.addfinalizer(made.close)
    return made


def movable(store: object) -> MovableStore:
    assert isinstance(store, SQLiteStore | KubeStore)
    return store


def _filled(store: MovableStore) -> None:
    store.write_records(
        [
            RecordWrite("n1", 0, "declared", plan=PLAN, event=("declared", {})),
            RecordWrite("n1", 1, "booting", deadline=99.5, marks={"attempt": 2}),
            RecordWrite("n2", 0, "failed", step="inspecting", reason="NIC", plan={"layer": "x"}),
        ]
    )
    attempt = store.begin_attempt("n1", lifetime=600)
    assert store.consume("n1", attempt.number, Stage.LIVE)
    store.begin_attempt("n3", lifetime=60)  # an attempt before any record
    store.end_attempt("n3", provisioned=False)
    store.record_many([("n1", "ipxe-fetched", {"attempt": 1}), ("n2", "x", {"a": [1]})])
    store.set_cursor("controller", 2)
    store.keep_cluster(
        StoredCluster("mgmt", '{"ca": 1}', "abcdef.0123456789abcdef", 9.0, "ab", 1.0, 2.0)
    )


def test_a_stores_nodes_are_written_into_another_as_they_were(
    open_store: OpenStore, empty: MovableStore
) -> None:
    source = movable(open_store())
    _filled(source)
    nodes = source.export_nodes()
    assert [n.name for n in nodes] == ["n1", "n2", "n3"]
    n1, _, n3 = nodes
    assert n1.record is not None and (n1.record.version, n1.record.state) == (2, "booting")
    assert (n1.attempt, n1.expires is not None, n1.used) == (1, True, (int(Stage.LIVE),))
    assert n3.record is None and (n3.attempt, n3.expires, n3.provisioned) == (1, None, False)
    empty.import_nodes(nodes)
    assert empty.export_nodes() == nodes
    assert empty.records() == source.records()
    assert empty.attempt("n1") == source.attempt("n1")
    assert not empty.consume("n1", n1.attempt, Stage.LIVE)  # used there, used here
    assert empty.consume("n1", n1.attempt, Stage.FINAL)
    empty.write_records([RecordWrite("n1", 2, "installing")])  # the version goes on
    empty.import_nodes(nodes[:1])  # again: exactly as given, whatever was there
    assert empty.export_nodes() == nodes


def test_the_log_cursors_secrets_and_key_are_written_into_another(
    open_store: OpenStore, empty: MovableStore
) -> None:
    source = movable(open_store())
    _filled(source)
    entries = source.events_since(0)
    empty.append_log(entries)
    copied = empty.events_since(0)
    assert [(e.node, e.at, e.kind, e.detail) for e in copied] == [
        (e.node, e.at, e.kind, e.detail) for e in entries
    ]
    assert source.cursors() == {"controller": 2} and empty.cursors() == {}
    assert source.cluster_layers() == ["mgmt"] and empty.cluster_layers() == []
    empty.keep_cluster(source.cluster("mgmt"))  # type: ignore[arg-type]
    assert empty.cluster("mgmt") == source.cluster("mgmt")
    empty.put_token_key(source.token_key())
    assert empty.token_key() == source.token_key()
    empty.put_token_key(b"k" * 32)
    assert movable(empty).token_key() == b"k" * 32


def test_clear_forgets_the_state_but_not_the_lease_or_notes(open_store: OpenStore) -> None:
    store = movable(open_store())
    _filled(store)
    store.acquire_writer("someone", ttl=600)
    assert store.set_note("pivot", "{}", None)
    store.clear()
    other = movable(open_store())  # another process's view
    for view in (store, other):
        assert view.export_nodes() == [] and view.records() == {}
        assert view.events_since(0) == [] and view.cursors() == {}
        assert view.cluster_layers() == [] and view.attempt("n1") is None
        assert view.writer() is not None and view.note("pivot") == "{}"
    store.append_log([LogEntry("n9", 5.0, "k", {})])
    assert [(e.node, e.at) for e in other.events_since(0)] == [("n9", 5.0)]


def test_a_note_changes_by_compare_and_swap(open_store: OpenStore) -> None:
    one, two = movable(open_store()), movable(open_store())
    assert one.note("pivot") is None
    assert one.set_note("pivot", "a", None)
    assert not two.set_note("pivot", "b", None)  # it is "a" now
    assert two.set_note("pivot", "b", "a") and one.note("pivot") == "b"
    assert not one.set_note("pivot", None, "a")
    assert one.set_note("pivot", None, "b") and two.note("pivot") is None
