"""The Kubernetes store's attempt reads from the API server's watch cache
(``KubeStore(cached_attempts=True)``, ``Servers.recent``) against the real
kube-apiserver: they do not read etcd, a store reads its own writes at once, another
writer's are seen, and single use holds when the copy read was stale."""

from __future__ import annotations

import re
import secrets

from strata.provisioning import Stage
from strata.store import KubeStore
from strata.store.kube_api import client_from_kubeconfig
from tests.integration.store.conftest import NAMESPACE, kube_store
from tests.support.kube_api import ControlPlane, wait_for

READS = 40


def cached(plane: ControlPlane, topology: str) -> KubeStore:
    client = client_from_kubeconfig(plane.admin_kubeconfig())
    return KubeStore(client, NAMESPACE, topology, cached_attempts=True)


def etcd_gets(plane: ControlPlane) -> int:
    """The API server's reads of single objects from etcd so far, every type
    (``etcd_request_duration_seconds_count{operation="get"}`` of its /metrics)."""
    with plane.client() as api:
        text = api.get("/metrics").text
    pattern = r'^etcd_request_duration_seconds_count\{operation="get",[^}]*\} (\S+)$'
    return sum(int(float(n)) for n in re.findall(pattern, text, re.MULTILINE))


def test_cached_reads_do_not_read_etcd(crd_applied: ControlPlane) -> None:
    topology = f"c{secrets.token_hex(3)}"
    fresh, boot = kube_store(crd_applied, topology), cached(crd_applied, topology)
    try:
        first = fresh.begin_attempt("n1", lifetime=600)
        wait_for(lambda: boot.attempt("n1") == first or None, 30, "the attempt in the cache")
        before = etcd_gets(crd_applied)
        assert [boot.attempt("n1") for _ in range(READS)] == [first] * READS
        from_cache = etcd_gets(crd_applied) - before
        before = etcd_gets(crd_applied)
        assert [fresh.attempt("n1") for _ in range(READS)] == [first] * READS
        from_etcd = etcd_gets(crd_applied) - before
        assert from_etcd >= READS and from_cache < READS // 2, (from_cache, from_etcd)
    finally:
        fresh.close()
        boot.close()


def test_a_store_reads_its_own_writes_at_once(crd_applied: ControlPlane) -> None:
    store = cached(crd_applied, f"c{secrets.token_hex(3)}")
    try:
        for round in range(15):
            begun = store.begin_attempt("n1", lifetime=600)
            assert begun.number == round + 1 and store.attempt("n1") == begun
            store.end_attempt("n1", provisioned=False)
            assert store.attempt("n1") is None
    finally:
        store.close()


def test_another_writers_attempts_are_seen(crd_applied: ControlPlane) -> None:
    topology = f"c{secrets.token_hex(3)}"
    writer, boot = kube_store(crd_applied, topology), cached(crd_applied, topology)
    try:
        assert boot.attempt("n1") is None
        first = writer.begin_attempt("n1", lifetime=600, now=1000.0)
        wait_for(lambda: boot.attempt("n1") == first or None, 30, "the attempt")
        writer.end_attempt("n1", provisioned=True)
        wait_for(lambda: boot.attempt("n1") is None or None, 30, "the attempt's end")
        second = writer.begin_attempt("n1", lifetime=60, now=2000.0)
        wait_for(lambda: boot.attempt("n1") == second or None, 30, "the next attempt")
    finally:
        writer.close()
        boot.close()


def test_a_stale_copy_never_spends_a_token_twice(crd_applied: ControlPlane) -> None:
    topology = f"c{secrets.token_hex(3)}"
    writer, boot = kube_store(crd_applied, topology), cached(crd_applied, topology)
    try:
        first = writer.begin_attempt("n1", lifetime=600)
        wait_for(lambda: boot.attempt("n1") == first or None, 30, "the attempt in the cache")
        assert writer.consume("n1", first.number, Stage.LIVE)  # boot's copy is stale now
        assert not boot.consume("n1", first.number, Stage.LIVE)
        second = writer.begin_attempt("n1", lifetime=600)
        assert not boot.consume("n1", first.number, Stage.FINAL)  # not the attempt now
        assert boot.consume("n1", second.number, Stage.FINAL)
        assert not writer.consume("n1", second.number, Stage.FINAL)
    finally:
        writer.close()
        boot.close()
