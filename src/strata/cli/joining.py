"""The Kubernetes side of a run whose target is joined, assembled for the Manager: each
layer's cluster material generated and kept before anything is powered on (the boot
service serves it to the layer's nodes), and each layer's watch of Nodes (one per
layer, with a short-lived admin credential minted from the kept CA) beside the
controller, writing what it sees to the event log."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from strata.controller import State
from strata.kube.material_store import (
    ADMIN_GROUP,
    ADMIN_USER,
    ClusterMaterial,
    cluster_material,
)
from strata.kube.node import provider_id
from strata.kube.pki import issue_client_cert
from strata.kube.watch import AdminCredential, LayerWatch, NodeWatcher, ensure_token
from strata.plan import ClusterPlan, Plan
from strata.store import SQLiteStore

__all__ = ["WATCH_CREDENTIAL_LIFETIME", "keep_materials", "node_watcher"]

# the watch's client certificate: minted again at every (re)connect, so short is enough
WATCH_CREDENTIAL_LIFETIME = datetime.timedelta(hours=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def keep_materials(plan: Plan, store: SQLiteStore) -> dict[str, ClusterMaterial]:
    """Every layer's material, generated and kept the first time (about a second each);
    a token close to expiry is rotated while the layer has nodes still to join."""
    return {
        c.name: cluster_material(store, c, _now(), all_joined=_all_joined(store, c.name))
        for c in plan.clusters
    }


def _all_joined(store: SQLiteStore, layer: str) -> Callable[[], bool]:
    def check() -> bool:
        states = [s.state for s in store.summaries() if s.layer == layer]
        return bool(states) and all(s == State.JOINED for s in states)

    return check


def node_watcher(
    plan: Plan, store: SQLiteStore, materials: dict[str, ClusterMaterial]
) -> NodeWatcher:
    """One watch of Nodes per layer that has control-plane nodes."""
    layers = [
        _layer(plan, cluster, materials[cluster.name])
        for cluster in plan.clusters
        if cluster.control_plane and cluster.name in materials
    ]
    return NodeWatcher(layers, store.record_many)


def _credentials(material: ClusterMaterial) -> Callable[[], AdminCredential]:
    """The watch's credential: minted when none is held or the one held has less than
    half its lifetime left (a new RSA key costs tens of milliseconds: not one per retry
    while the layer's API is not up yet)."""
    held: list[tuple[datetime.datetime, AdminCredential]] = []

    def credential() -> AdminCredential:
        now = _now()
        if held and held[0][0] - now > WATCH_CREDENTIAL_LIFETIME / 2:
            return held[0][1]
        ca = material.pki.ca
        admin = issue_client_cert(ca, ADMIN_USER, [ADMIN_GROUP], WATCH_CREDENTIAL_LIFETIME, now=now)
        held[:] = [
            (
                now + WATCH_CREDENTIAL_LIFETIME,
                AdminCredential(ca.cert_pem, admin.cert_pem, admin.key_pem),
            )
        ]
        return held[0][1]

    return credential


def _layer(plan: Plan, cluster: ClusterPlan, material: ClusterMaterial) -> LayerWatch:
    credential = _credentials(material)
    members = cluster.control_plane + cluster.workers
    nodes = {n: provider_id(plan.topology, n) for n in members}
    init = cluster.control_plane[0]
    return LayerWatch(
        cluster.name, cluster.endpoint, credential, init, nodes, ensure_token(material.token)
    )
