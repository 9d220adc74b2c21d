"""What a node of a layer is served to install and start Kubernetes: its Ignition
fragment (``strata.ignition.kube``) built from the layer's kept cluster material.

Per node: the kubeadm config (init on the layer's first control-plane node, join on the
others) or the k3s config, kube-vip's static pod on control-plane nodes, and on a
kubeadm init node the layer's CAs and service-account keys (so the cluster is built on
the PKI Strata keeps: it knows the discovery hash and mints its own admin credential).
On a kubeadm layer with Strata's pod network, each node's CNI network list and routes
to the other nodes' pod subnets (``strata.ignition.pod_network``), from the whole plan.
Every download comes from the run's artifact mirror with its SHA-256. The fragment is
merged before the person's own fragments (``topology.yaml`` ``ignition``), which may
override any of its files.

The material is what the store keeps (``strata.kube.material_store``): a run whose
target is joined generates it for every layer before anything is powered on; a layer
with none (never applied to joined) is served no Kubernetes, its nodes their OS only.
It is read when a node's config is first rendered, so ``strata serve`` beside
``strata apply --no-serve`` serves what that apply generated.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from pathlib import Path

from strata.boot.kube_artifacts import mirror_ref
from strata.ignition import Config
from strata.ignition.kube import kube_fragment, pki_files
from strata.ignition.pod_network import node_pod_network
from strata.kube.files import ConfigFile
from strata.kube.k3s import k3s_config
from strata.kube.kubeadm import kubeadm_config
from strata.kube.material_store import ClusterMaterial, material_of
from strata.kube.node import is_init_node
from strata.kube.vip import kube_vip_manifest
from strata.plan import ClusterPlan, NodePlan, Plan
from strata.store.clusters import ClusterSecretsStore, StoredCluster

__all__ = ["KubeSource", "node_files"]


class KubeSource:
    """``fragment(node)``: the node's Kubernetes fragment from the layer's material in
    ``store`` (None: its layer has none). ``clock``: UTC now, for the token's TTL."""

    def __init__(
        self,
        plan: Plan,
        store: ClusterSecretsStore,
        mirror_root: Path,
        base_url: str,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.plan, self.store, self.clock = plan, store, clock
        self.mirror_root, self.base_url = mirror_root, base_url.rstrip("/")
        self.clusters = {c.name: c for c in plan.clusters}
        self._read: dict[str, tuple[StoredCluster, ClusterMaterial]] = {}  # layer -> parsed
        self._lock = threading.Lock()

    def fragment(self, node: NodePlan) -> Config | None:
        """Raises ``BuildError`` (naming the node) for a file the mirror lacks."""
        cluster = self.clusters.get(node.layer)
        material = self._material(node.layer) if cluster else None
        if cluster is None or material is None:
            return None
        mirror = mirror_ref(self.mirror_root, f"{self.base_url}/assets", [cluster])
        files = node_files(node, cluster, material, self.plan.topology, self.clock())
        network = node_pod_network(cluster, self.plan.nodes, node)
        return kube_fragment(node, cluster, self.plan.topology, files, mirror, pod_network=network)

    def _material(self, layer: str) -> ClusterMaterial | None:
        """The layer's material as the store keeps it now, parsed (its keys checked
        against their certificates) once per stored row, not once per node rendered."""
        row = self.store.cluster(layer)
        if row is None:
            return None
        with self._lock:
            read = self._read.get(layer)
        if read is not None and read[0] == row:
            return read[1]
        material = material_of(row)
        with self._lock:
            self._read[layer] = (row, material)
        return material


def node_files(
    node: NodePlan,
    cluster: ClusterPlan,
    material: ClusterMaterial,
    topology: str,
    now: datetime.datetime,
) -> tuple[ConfigFile, ...]:
    """The Kubernetes files ``node`` is given, with their paths and modes."""
    files: list[ConfigFile] = []
    if cluster.distribution == "k3s":
        files.append(k3s_config(cluster, node, material.token.value, topology=topology))
    else:
        join = material.join_material(now)
        files.append(kubeadm_config(cluster, node, join, topology=topology))
        if is_init_node(cluster, node):
            files.extend(pki_files(material.pki))
    if node.name in cluster.control_plane:
        files.append(kube_vip_manifest(cluster, node))
    return tuple(files)
