"""A Kubernetes store's ``clear`` (a move's install and rollback) deletes only what the
store itself wrote, on a real kube-apiserver: objects another party labelled for the
topology, or wrote too, are kept and named; and a delete of the move's paths
(``strata.pivot.deleting``) made at a resourceVersion the object has moved on from is
refused by the API server, kept and said — not retried.
"""

from __future__ import annotations

import itertools

from strata.pivot.deleting import delete_read
from strata.store import KubeStore, LogEntry, RecordWrite
from strata.store.clusters import StoredCluster
from strata.store.server_crd import GROUP, PLURAL, VERSION
from tests.integration.store.conftest import NAMESPACE, kube_store
from tests.support.kube_api import ControlPlane

_fresh = itertools.count()
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
SERVERS = f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{PLURAL}"


def _filled(crd_applied: ControlPlane) -> KubeStore:
    store = kube_store(crd_applied, f"clear{next(_fresh)}")
    store.write_records(
        [RecordWrite(n, 0, "declared", plan={"layer": "mgmt"}, event=("x", {})) for n in "abc"]
    )
    store.set_cursor("controller", 1)
    store.keep_cluster(StoredCluster("mgmt", "{}", "abcdef.0123456789abcdef", 9.0, "ab", 1.0, 2.0))
    return store


def test_clear_keeps_what_another_party_labelled_or_wrote(crd_applied: ControlPlane) -> None:
    store = _filled(crd_applied)
    t = store.topology
    labels = {"strata.dev/topology": t, "strata.dev/log": "segment"}
    metadata = {"name": f"{t}-log-00000009", "labels": labels}  # named as a segment is
    theirs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"o": "x"}}
    with crd_applied.client() as other:  # another party: not Strata's client
        assert other.post(CONFIGMAPS, json=theirs).status_code == 201
        patch = {"metadata": {"labels": {"team": "racks"}}}  # `kubectl label` stands in
        headers = {"Content-Type": "application/merge-patch+json"}
        labelled = other.patch(f"{SERVERS}/{t}.b", json=patch, headers=headers)
        assert labelled.status_code == 200, labelled.text
    kept = store.clear()
    assert len(kept) == 2, kept
    assert any(f"configmaps/{t}-log-00000009" in line and "shape" in line for line in kept), kept
    assert any(f"servers/{t}.b" in line and "not by Strata only" in line for line in kept), kept
    assert store.api.get(f"{CONFIGMAPS}/{t}-log-00000009") is not None
    assert store.api.get(f"{SERVERS}/{t}.b") is not None
    assert [s["metadata"]["name"] for s in store.servers.all()] == [f"{t}.b"]
    assert store.cursors() == {} and store.cluster_layers() == []
    assert store.api.get(f"{CONFIGMAPS}/{t}-log-00000000") is None


def test_a_delete_at_a_version_moved_on_is_refused_and_said(crd_applied: ControlPlane) -> None:
    store = _filled(crd_applied)
    path = f"{CONFIGMAPS}/{store.topology}-cursors"
    read = store.api.get(path)
    assert read is not None
    store.set_cursor("controller", 2)  # written after the read
    said = delete_read(store.api, path, read)
    assert said is not None and "changed while it was deleted" in said, said
    assert store.cursors() == {"controller": 2}  # kept as the later write left it
    assert delete_read(store.api, path) is None  # read now: deleted
    assert store.api.get(path) is None


def test_a_foreign_configmap_labelled_as_a_segment_is_not_read_as_one(
    crd_applied: ControlPlane,
) -> None:
    store = _filled(crd_applied)
    t = store.topology
    labels = {"strata.dev/topology": t, "strata.dev/log": "segment"}
    for name in (f"{t}-log-notes", f"{t}-log-000000001", "ops-runbook"):
        theirs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        theirs["metadata"]["labels"] = labels
        with crd_applied.client() as other:
            assert other.post(CONFIGMAPS, json=theirs).status_code == 201
    before = [e.kind for e in store.events_since(0, 100)]
    again = kube_store(crd_applied, t)  # a fresh reader finds the head among them
    again.append_log([LogEntry("d", 5.0, "later", {})])
    assert [e.kind for e in again.events_since(0, 100)] == [*before, "later"]
