"""The Kubernetes resources the controller reads and writes, as lightkube types, and
how it reaches the API server (a kubeconfig file, or the pod's service account)."""

from __future__ import annotations

from pathlib import Path

from lightkube import Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource

from strata.kube.kubeconfig_reload import FollowingClient

__all__ = ["TOPOLOGY", "TOPOLOGY_API_VERSION", "kube_client"]

GROUP, VERSION = "strata.dev", "v1alpha1"  # strata.operator.crds' (issue 16's conventions)
TOPOLOGY_API_VERSION = f"{GROUP}/{VERSION}"
TOPOLOGY = create_namespaced_resource(GROUP, VERSION, "Topology", "topologies")


def kube_client(kubeconfig: Path | None, namespace: str) -> Client:
    """A client for ``namespace``: from ``kubeconfig`` when given, else the pod's
    service account (in a cluster), else ``$KUBECONFIG`` or ``~/.kube/config``
    (lightkube's ``KubeConfig.from_env``). From ``kubeconfig``, the client follows the
    file: a replaced one is read again (``strata.kube.kubeconfig_reload``)."""
    if kubeconfig:
        return FollowingClient(kubeconfig, namespace)
    return Client(KubeConfig.from_env(), namespace=namespace, trust_env=False)
