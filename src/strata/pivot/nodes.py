"""What the target's Nodes say about running the controller there (docs/pivot.md,
"Preflight" and "Resume and the handover"): whether a Node can run a pod at all, why
none can, and which are on the provisioning network.

A Node is Ready when its kubelet says so (condition ``Ready`` ``True``) — which it does
without having started a single container: a kubelet whose container runtime can pull
no image (the lab's: no registry reachable) is Ready and runs no pod. A Node runs pods
when its runtime holds an image (``status.images``, which the kubelet reports, up to 50
by default: Kubernetes API, NodeStatus): every pod needs the pod sandbox's image, so a
Node that holds none has never started a pod, and every Node of a working cluster holds
it and those of its kube-proxy and network plugin. A Node written through the API with
no kubelet behind it holds none either.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from strata.store.kube_api import KubeApi, KubeStoreError

__all__ = ["internal_ips", "on_network", "ready", "runs_pods", "why_none"]

Obj = dict[str, Any]


def ready(node: Obj) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def runs_pods(node: Obj) -> bool:
    """Whether the Node's container runtime holds an image (module doc)."""
    return bool((node.get("status") or {}).get("images"))


def why_none(api: KubeApi, nodes: list[Obj] | None = None) -> str:
    """Why no Node can run the controller, for a person: ``no Node can run it: 3 Nodes,
    3 Ready, none holding a container image (no pod has started on any)``. ``nodes``:
    the Nodes already read (None: listed here)."""
    if nodes is None:
        try:
            nodes = list(api.items("/api/v1/nodes"))
        except KubeStoreError as failure:
            return f"no Node can run it: the Nodes could not be listed ({failure})"
    if not nodes:
        return "no Node can run it: the cluster has no Node"
    up = [n for n in nodes if ready(n)]
    text = f"no Node can run it: {len(nodes)} Node{'s' * (len(nodes) != 1)}, {len(up)} Ready"
    if up and not any(runs_pods(n) for n in up):
        return text + ", none holding a container image (no pod has started on any)"
    return text + ", none both running pods and schedulable with the Deployment's tolerations"


def internal_ips(node: Obj) -> list[IPv4Address | IPv6Address]:
    """The Node's ``InternalIP`` addresses (``status.addresses``)."""
    found = []
    for entry in (node.get("status") or {}).get("addresses") or []:
        if entry.get("type") == "InternalIP":
            try:
                found.append(ip_address(str(entry.get("address"))))
            except ValueError:
                continue
    return found


def on_network(node: Obj, network: IPv4Network | IPv6Network) -> bool:
    return any(address in network for address in internal_ips(node))
