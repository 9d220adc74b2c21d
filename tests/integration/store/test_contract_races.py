"""The store contract under real concurrency: several stores on the same state (as
several processes would be), each in a thread, released together by a barrier. Run on
both backends (``conftest.py``); every assertion is about the outcome, none about
timing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from strata.provisioning import Stage
from strata.store import Conflict, RecordWrite, Store, WriterBusy
from strata.store.clusters import StoredCluster
from tests.integration.store.conftest import OpenStore

T = TypeVar("T")
WRITERS = 4


def race(stores: list[Store], act: Callable[[int, Store], T]) -> list[T | Exception]:
    """``act(i, store)`` in one thread per store, all started at once; each result or
    the exception it raised, in store order."""
    barrier = threading.Barrier(len(stores))
    found: list[T | Exception | None] = [None] * len(stores)

    def run(i: int) -> None:
        barrier.wait(timeout=60)
        try:
            found[i] = act(i, stores[i])
        except Exception as exc:  # the outcome under test
            found[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return found  # type: ignore[return-value]  # None: ``act`` returned None


def test_of_racing_record_writes_exactly_one_wins(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(WRITERS)]
    stores[0].write_records([RecordWrite("n1", 0, "declared", plan={"rack": "r1"})])
    outcome = race(stores, lambda i, s: s.write_records([RecordWrite("n1", 1, f"state-{i}")]))
    winners = [i for i, r in enumerate(outcome) if r is None]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in outcome if r is not None)
    record = stores[0].records()["n1"]
    assert (record.version, record.state) == (2, f"state-{winners[0]}")


def test_racing_appends_keep_one_order(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(3)]
    per_store = 12

    def append(i: int, store: Store) -> None:
        for j in range(per_store):
            store.record(f"n{i}", "installed", {"j": j})

    assert race(stores, append) == [None] * 3
    entries = stores[0].events_since(0)
    assert len(entries) == 3 * per_store
    ids = [e.id for e in entries]
    assert ids == sorted(set(ids))
    for i in range(3):  # each writer's entries in the order it wrote them
        assert [e.detail["j"] for e in entries if e.node == f"n{i}"] == list(range(per_store))


def test_a_token_raced_for_is_used_once(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(WRITERS)]
    attempt = stores[0].begin_attempt("n1", lifetime=600)
    outcome = race(stores, lambda i, s: s.consume("n1", attempt.number, Stage.LIVE))
    assert sorted(outcome, key=str) == [False] * (WRITERS - 1) + [True]


def test_racing_first_writers_end_with_one_secret(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(WRITERS)]

    def keep(i: int, store: Store) -> StoredCluster:
        token = f"t{i}t{i}t{i}.{str(i) * 16}"
        return store.keep_cluster(StoredCluster("mgmt", f"pki-{i}", token, 9e9, "k" * 64, i, i))

    kept = race(stores, keep)
    assert len(set(map(repr, kept))) == 1 and all(isinstance(k, StoredCluster) for k in kept)
    first = kept[0]
    assert isinstance(first, StoredCluster)
    old = first.token

    def rotate(i: int, store: Store) -> str:
        return store.rotate_cluster_token(
            "mgmt", old, f"r{i}r{i}r{i}.{str(i) * 16}", 1e10, 5.0
        ).token

    rotated = race(stores, rotate)
    assert len(set(rotated)) == 1 and rotated[0] != old  # one new token, the same for all
    now = stores[0].cluster("mgmt")
    assert now is not None and now.token == rotated[0]


def test_of_racing_writers_one_holds_the_lease(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(WRITERS)]
    outcome = race(stores, lambda i, s: s.acquire_writer(f"writer-{i}", ttl=60, now=1000))
    holders = [i for i, r in enumerate(outcome) if r is None]
    assert len(holders) == 1
    busy = [r for r in outcome if r is not None]
    assert all(isinstance(b, WriterBusy) and b.holder == f"writer-{holders[0]}" for b in busy)
    assert stores[0].writer(now=1001) == (f"writer-{holders[0]}", 1060)
