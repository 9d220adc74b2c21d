"""How a node identifies itself to its cluster, the same for kubeadm and k3s: its name,
its labels and its providerID.

providerID: ``strata://<topology>/<node>`` (``metadata.name`` of topology.yaml, then the
node's name). Kubernetes reads a providerID as ``<provider>://<provider-specific id>``
(Node ``spec.providerID``, https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/);
both names are DNS labels, so the ID needs no escaping, and the topology's name keeps two
datacenters' nodes of the same name apart. The kubelet sets it from its ``--provider-id``
flag (https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/).

Labels: the node's labels from the plan, which already hold
``topology.kubernetes.io/region``, ``topology.kubernetes.io/zone`` and ``strata.dev/rack``
(plan/build.py) beside the ones topology.yaml gives the node; the kubelet registers them
from ``--node-labels`` (``key=value,...``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strata.plan.model import ClusterPlan, NodePlan

__all__ = ["PROVIDER_SCHEME", "is_init_node", "kubelet_args", "node_labels", "provider_id"]

PROVIDER_SCHEME = "strata"


def provider_id(topology: str, node: str) -> str:
    """``strata://<topology>/<node>``: the Node's ``spec.providerID``."""
    return f"{PROVIDER_SCHEME}://{topology}/{node}"


def node_labels(node: NodePlan) -> list[str]:
    """The node's labels as ``key=value`` strings, sorted by key (stable output)."""
    return [f"{key}={value}" for key, value in sorted(node.labels.items())]


def kubelet_args(topology: str, node: NodePlan) -> dict[str, str]:
    """The kubelet flags (without dashes) every node gets: its labels and providerID."""
    return {
        "node-labels": ",".join(node_labels(node)),
        "provider-id": provider_id(topology, node.name),
    }


def is_init_node(cluster: ClusterPlan, node: NodePlan) -> bool:
    """True for the node that runs ``kubeadm init`` (k3s: ``cluster-init``): the first of
    ``cluster.control_plane``. Raises ValueError if the node is not in the cluster."""
    if node.name not in (*cluster.control_plane, *cluster.workers):
        raise ValueError(f"node {node.name} is not a member of layer {cluster.name}")
    if not cluster.control_plane:
        raise ValueError(f"layer {cluster.name} has no control-plane node")
    return node.name == cluster.control_plane[0]
