"""The store contract: what the controller and the boot service may rely on of any
store, run unchanged on the SQLite store and on the Kubernetes store against a real
kube-apiserver (``conftest.py`` gives both). Two stores opened on the same state stand
for two processes.

Where the backends differ by design, the test asserts what both honour: a batch of
record writes stale when it is made writes nothing on either (SQLite: one transaction;
Kubernetes: the batch is checked before the first write, see ``strata.store.kube_store``).
"""

from __future__ import annotations

import time

import pytest

from strata.provisioning import Attempt, Stage, UnknownMachine
from strata.store import Conflict, KubeStore, RecordWrite, SQLiteStore, Store, WriterBusy
from strata.store.clusters import StoredCluster
from tests.integration.store.conftest import SEGMENT, OpenStore

PLAN = {"layer": "mgmt", "region": "eu", "zone": "z1", "rack": "r1", "os_version": "4081.2.0"}


def _conforms(store: KubeStore) -> Store:
    """mypy proves the Kubernetes store implements the protocol (this assignment)."""
    checked: Store = store
    return checked


def full(store: Store) -> SQLiteStore | KubeStore:
    """The store's own methods beyond the protocol (both backends have them)."""
    assert isinstance(store, SQLiteStore | KubeStore)
    return store


def test_a_record_round_trips_with_its_version(store: Store) -> None:
    store.write_records(
        [RecordWrite("n1", 0, "declared", plan=PLAN, deadline=1234.5, marks={"a": [1, 2]})]
    )
    record = store.records()["n1"]
    assert (record.name, record.version, record.state) == ("n1", 1, "declared")
    assert (record.plan, record.deadline, record.marks) == (PLAN, 1234.5, {"a": [1, 2]})
    assert record.step is None and record.reason is None and record.updated > 0
    store.write_records([RecordWrite("n1", 1, "failed", step="inspecting", reason="NIC missing")])
    record = store.records()["n1"]
    assert (record.version, record.step, record.reason) == (2, "inspecting", "NIC missing")
    assert record.plan == PLAN  # plan=None keeps the recorded plan
    store.write_records([RecordWrite("n1", 2, "ready", plan={**PLAN, "rack": "r2"})])
    assert store.records()["n1"].plan["rack"] == "r2"


def test_a_concurrent_write_is_a_conflict(open_store: OpenStore) -> None:
    one, two = open_store(), open_store()
    one.write_records([RecordWrite("n1", 0, "declared", plan=PLAN)])
    assert two.records()["n1"].version == 1  # two has read version 1
    one.write_records([RecordWrite("n1", 1, "registering")])
    with pytest.raises(Conflict, match="record is at version 2, not 1") as raised:
        two.write_records([RecordWrite("n1", 1, "failed", step="x", reason="y")])
    assert (raised.value.name, raised.value.expected, raised.value.actual) == ("n1", 1, 2)
    assert (two.records()["n1"].version, two.records()["n1"].state) == (2, "registering")
    with pytest.raises(Conflict):
        two.write_records([RecordWrite("n2", 3, "declared", plan={})])  # only 0 creates
    with pytest.raises(Conflict):
        one.write_records([RecordWrite("n1", 0, "declared", plan={})])  # it exists


def test_a_batch_and_what_a_stale_batch_leaves(store: Store) -> None:
    store.write_records(
        [
            RecordWrite("n1", 0, "declared", plan=PLAN, event=("declared", {})),
            RecordWrite("n1", 1, "registering", event=("state", {"to": "registering"})),
            RecordWrite("n2", 0, "declared", plan={}, marks={"attempt": 3}),
        ]
    )
    records = store.records()
    assert (records["n1"].version, records["n1"].state, records["n1"].plan) == (
        2,
        "registering",
        PLAN,
    )
    assert (records["n2"].version, records["n2"].marks) == (1, {"attempt": 3})
    assert [e.kind for e in store.events("n1")] == ["declared", "state"]
    with pytest.raises(Conflict):  # n2's write is good, n1's is stale when the batch is made
        store.write_records(
            [RecordWrite("n2", 1, "registering", event=("state", {})), RecordWrite("n1", 1, "x")]
        )
    assert store.records()["n2"].state == "declared"
    assert store.events("n2") == []


def test_marks_change_without_a_new_version(open_store: OpenStore) -> None:
    store, other = open_store(), open_store()
    store.write_records([RecordWrite("n1", 0, "provisioning", plan={})])
    store.set_marks("n1", {"attempt": 2, "powered": 2})
    record = other.records()["n1"]
    assert (record.version, record.marks) == (1, {"attempt": 2, "powered": 2})
    other.write_records([RecordWrite("n1", 1, "booting", marks={"attempt": 2})])
    store.set_marks("n1", {"attempt": 2, "prepared": 2})  # after another's write
    assert other.records()["n1"].marks == {"attempt": 2, "prepared": 2}
    store.set_marks("nobody", {"a": 1})
    assert "nobody" not in store.records()


def test_the_log_in_order_across_many_entries(open_store: OpenStore) -> None:
    store, reader = open_store(), open_store()
    written = []
    for i in range(6 * SEGMENT + 3):  # several segments of the Kubernetes log
        node = f"n{i % 3}"
        if i % 5 == 0:
            full(store).record_many([(node, "a", {"i": i}), (node, "b", {"i": i})])
            written += [(node, "a", i), (node, "b", i)]
        else:
            store.record(node, "installed", {"i": i})
            written.append((node, "installed", i))
    everything = reader.events_since(0)
    assert [(e.node, e.kind, e.detail["i"]) for e in everything] == written
    ids = [e.id for e in everything]
    assert ids == sorted(set(ids)) and ids[0] > 0
    paged, cursor = [], 0
    while page := reader.events_since(cursor, limit=4):
        assert len(page) <= 4
        paged += page
        cursor = page[-1].id
    assert paged == everything
    for middle in (everything[SEGMENT - 1], everything[SEGMENT], everything[17]):
        assert reader.events_since(middle.id) == everything[everything.index(middle) + 1 :]
    assert reader.events_since(everything[-1].id) == []
    only = reader.events_since(everything[2].id, limit=5, kinds=["a", "b"])
    assert only == [e for e in everything[3:] if e.kind in ("a", "b")][:5]
    assert reader.events("n1") == [e for e in everything if e.node == "n1"]
    assert reader.recent_events(3) == everything[-3:]
    assert all(e.at > 0 for e in everything)


def test_the_newest_entry_of_some_kinds(store: Store) -> None:
    log = full(store)
    assert log.latest(["api-answered"], "cp-0") is None
    store.record("cp-0", "api-unreachable", {"reason": "refused"})
    store.record("cp-0", "api-answered", {"layer": "mgmt"})
    store.record("cp-0", "node-ready", {})
    store.record("cp-1", "api-unreachable", {"reason": "other"})
    newest = log.latest(["api-answered", "api-unreachable"], "cp-0")
    assert newest is not None and (newest.kind, dict(newest.detail)) == (
        "api-answered",
        {"layer": "mgmt"},
    )
    older = log.latest(["api-unreachable"], "cp-0")
    assert older is not None and older.detail == {"reason": "refused"} and older.id < newest.id


def test_a_cursor_is_kept(open_store: OpenStore) -> None:
    store = open_store()
    assert store.cursor("controller") == 0
    store.set_cursor("controller", 42)
    store.set_cursor("status", 7)
    store.set_cursor("controller", 43)
    other = open_store()
    assert (other.cursor("controller"), other.cursor("status")) == (43, 7)


def test_attempts_begin_and_end(open_store: OpenStore) -> None:
    store, boot = open_store(), open_store()
    assert boot.attempt("n1") is None
    first = store.begin_attempt("n1", lifetime=600, now=1000.0)
    assert first == Attempt(1, 1600) and boot.attempt("n1") == first
    assert store.begin_attempt("n1", lifetime=60, now=2000.0) == Attempt(2, 2060)
    store.end_attempt("n1", provisioned=True)
    assert boot.attempt("n1") is None
    assert store.begin_attempt("n1", lifetime=60, now=3000.0).number == 3
    store.end_attempt("nobody", provisioned=False)  # no attempt: nothing to end


def test_an_attempt_ends_with_the_record_that_says_why(open_store: OpenStore) -> None:
    store, boot = open_store(), open_store()
    store.write_records(
        [RecordWrite("n1", 0, "booting", plan=PLAN), RecordWrite("n2", 0, "x", plan=PLAN)]
    )
    first = store.begin_attempt("n1", lifetime=600, now=time.time())
    stale = [RecordWrite("n1", 1, "provisioned", end_attempt=True), RecordWrite("n2", 0, "y")]
    with pytest.raises(Conflict):
        store.write_records(stale)
    assert boot.attempt("n1") == first  # a batch that wrote nothing ended nothing
    store.write_records([RecordWrite("n1", 1, "provisioned", end_attempt=True)])
    assert boot.attempt("n1") is None and boot.records()["n1"].state == "provisioned"
    assert store.begin_attempt("n1", lifetime=600).number == 2
    store.write_records([RecordWrite("n2", 1, "failed", end_attempt=False)])  # none open
    assert boot.attempt("n2") is None and boot.records()["n2"].version == 2


def test_a_token_is_used_once_per_attempt(open_store: OpenStore) -> None:
    store, boot, other = open_store(), open_store(), open_store()
    attempt = store.begin_attempt("n1", lifetime=600)
    assert boot.consume("n1", attempt.number, Stage.LIVE) is True
    assert other.consume("n1", attempt.number, Stage.LIVE) is False  # a replay
    assert boot.consume("n1", attempt.number, Stage.FINAL) is True
    assert boot.consume("n1", attempt.number, Stage.FINAL) is False
    again = store.begin_attempt("n1", lifetime=600)
    assert boot.consume("n1", again.number, Stage.LIVE) is True  # a new attempt: new tokens
    assert boot.consume("n1", again.number, Stage.LIVE) is False


def test_machines_in_no_topology(store: Store) -> None:
    one = UnknownMachine("52:54:00:00:00:01", "u-1", "s-1", "x86_64", "pcbios")
    two = UnknownMachine("52:54:00:00:00:02", None, None, "arm64", "efi")
    store.record_unknown(one)
    time.sleep(0.01)
    store.record_unknown(two)
    store.record_unknown(UnknownMachine("52:54:00:00:00:01", "u-1", "s-9", "x86_64", "efi"))
    first, second = full(store).unknown_machines()
    assert (first["mac"], first["serial"], first["platform"], first["boots"]) == (
        "52:54:00:00:00:01",
        "s-9",
        "efi",
        2,
    )
    assert first["last_seen"] >= second["first_seen"] > first["first_seen"]
    assert (second["mac"], second["uuid"], second["boots"]) == ("52:54:00:00:00:02", None, 1)


def test_one_writer_at_a_time_and_the_second_is_told_who(open_store: OpenStore) -> None:
    one, two = open_store(), open_store()
    a, b = "strata apply (pid 100 on seed-1)", "strata apply (pid 200 on seed-1)"
    assert one.writer(now=1000) is None
    one.acquire_writer(a, ttl=30, now=1000)
    with pytest.raises(WriterBusy, match=r"pid 100 on seed-1\) is driving") as busy:
        two.acquire_writer(b, ttl=30, now=1010)
    assert (busy.value.holder, busy.value.expires) == (a, 1030)
    one.acquire_writer(a, ttl=30, now=1020)  # renewal
    assert two.writer(now=1040) == (a, 1050)
    assert two.writer(now=1051) is None  # expired
    two.acquire_writer(b, ttl=30, now=1051)
    assert one.writer(now=1052) == (b, 1081)
    one.release_writer(a)  # not its lease: nothing happens
    assert one.writer(now=1052) == (b, 1081)
    with pytest.raises(WriterBusy):
        one.acquire_writer(a, ttl=30, now=1053, replacing="someone else")
    one.acquire_writer(a, ttl=2.5, now=1053, replacing=b)  # b is known dead
    assert two.writer(now=1054) == (a, 1055.5)
    one.release_writer(a)
    assert two.writer(now=1054) is None


def _material(layer: str, token: str, created: float) -> StoredCluster:
    return StoredCluster(
        layer, '{"ca": "pem"}', token, created + 86400, "ab" * 32, created, created
    )


def test_a_layers_secrets_first_writer_wins(open_store: OpenStore) -> None:
    one, two = open_store(), open_store()
    assert one.cluster("mgmt") is None
    kept = one.keep_cluster(_material("mgmt", "abcdef.0123456789abcdef", 1000.0))
    second = two.keep_cluster(_material("mgmt", "zzzzzz.zzzzzzzzzzzzzzzz", 2000.0))
    assert second == kept and second.token == "abcdef.0123456789abcdef"
    assert two.cluster("mgmt") == kept and kept.created == 1000.0
    assert one.cluster("other") is None


def test_a_token_is_rotated_by_compare_and_swap(open_store: OpenStore) -> None:
    one, two = open_store(), open_store()
    old = one.keep_cluster(_material("mgmt", "aaaaaa.aaaaaaaaaaaaaaaa", 1000.0)).token
    new = one.rotate_cluster_token("mgmt", old, "bbbbbb.bbbbbbbbbbbbbbbb", 9000.0, 5000.0)
    assert (new.token, new.token_expires, new.rotated, new.created) == (
        "bbbbbb.bbbbbbbbbbbbbbbb",
        9000.0,
        5000.0,
        1000.0,
    )
    late = two.rotate_cluster_token("mgmt", old, "cccccc.cccccccccccccccc", 9100.0, 5100.0)
    assert late == new  # another replaced it first: unchanged
    with pytest.raises(KeyError, match="nothing"):
        two.rotate_cluster_token("nothing", old, "dddddd.dddddddddddddddd", 1.0, 1.0)


def test_the_token_key_is_made_once(open_store: OpenStore) -> None:
    one, two = full(open_store()), full(open_store())
    key = one.token_key()
    assert len(key) == 32 and two.token_key() == key


def test_summaries_say_state_and_place(store: Store) -> None:
    store.write_records(
        [
            RecordWrite("n1", 0, "registering", plan=PLAN),
            RecordWrite("n2", 0, "failed", step="inspecting", reason="why", plan={"layer": "x"}),
        ]
    )
    by_name = {s.name: s for s in store.summaries()}
    n1, n2 = by_name["n1"], by_name["n2"]
    assert (n1.state, n1.layer, n1.region, n1.zone, n1.rack) == (
        "registering",
        "mgmt",
        "eu",
        "z1",
        "r1",
    )
    assert (n2.state, n2.step, n2.reason, n2.layer, n2.rack) == (
        "failed",
        "inspecting",
        "why",
        "x",
        "?",
    )
    assert n1.updated > 0
