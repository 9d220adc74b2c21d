"""The layer's VIP: a kube-vip static pod on every control-plane node, ARP mode, leader
election on (one node holds the VIP at a time and answers ARP for it).

The manifest is the one ``kube-vip manifest pod --controlplane --arp --leaderElection``
writes (https://kube-vip.io/docs/installation/static/ ; the environment variables are
kube-vip's flags, https://kube-vip.io/docs/installation/flags/). ``vip_interface`` is
the node's interface on the VIP's network when the plan names it; otherwise it is left
out and kube-vip uses the interface of the default route.

The kubeconfig kube-vip reads: ``/etc/kubernetes/admin.conf`` (k3s:
``/etc/rancher/k3s/k3s.yaml``), mounted at kube-vip's default path. On the FIRST
control-plane node of a kubeadm layer of Kubernetes >= 1.29 the host file is
``/etc/kubernetes/super-admin.conf`` instead: from 1.29 kubeadm's admin.conf is bound to
RBAC that ``kubeadm init`` creates only once the API is up, which it cannot be before
kube-vip holds the VIP (kube-vip's documented workaround, "kube-vip on Kubernetes
1.29+" at https://kube-vip.io/docs/installation/static/ ; kube-vip/kube-vip#684).
Nodes that join find the RBAC in place and keep admin.conf.

The image is pinned (KUBE_VIP_IMAGE, from ghcr.io). A layer with a registry mirror
(``image_repository``) gets the same repository and tag from the mirror
(``registry.dc.example/kube-vip/kube-vip:v0.8.9``: ``kube_vip_image``), as kubeadm and k3s
name their images under it; ``image=`` names another reference outright.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from strata.kube.endpoint import Endpoint, interface_for_vip, parse_endpoint
from strata.kube.files import ConfigFile
from strata.kube.node import is_init_node
from strata.kube.versions import KubeVersion, k3s_release, kubeadm_api, kubernetes_version

if TYPE_CHECKING:
    from strata.plan.model import ClusterPlan, NodePlan

__all__ = [
    "KUBE_VIP_IMAGE",
    "SUPER_ADMIN_SINCE",
    "kube_vip_image",
    "kube_vip_manifest",
    "kube_vip_pod",
]

KUBE_VIP_VERSION = "v0.8.9"
KUBE_VIP_REGISTRY = "ghcr.io"
KUBE_VIP_REPOSITORY = "kube-vip/kube-vip"
KUBE_VIP_IMAGE = f"{KUBE_VIP_REGISTRY}/{KUBE_VIP_REPOSITORY}:{KUBE_VIP_VERSION}"
SUPER_ADMIN_SINCE = KubeVersion(1, 29, 0)
_SUPER_ADMIN = "/etc/kubernetes/super-admin.conf"
_MOUNTED_AT = "/etc/kubernetes/admin.conf"  # kube-vip's default --k8sConfigPath


@dataclass(frozen=True, slots=True)
class _Host:
    """Where a distribution's kubelet reads static pods, and its admin kubeconfig."""

    manifest: str
    kubeconfig: str


# kubeadm: cmd/kubeadm/app/constants (manifests dir, admin.conf); k3s: the agent's
# --pod-manifest-path and the kubeconfig the server writes (https://docs.k3s.io/cluster-access).
_HOSTS = {
    "kubeadm": _Host("/etc/kubernetes/manifests/kube-vip.yaml", "/etc/kubernetes/admin.conf"),
    "k3s": _Host(
        "/var/lib/rancher/k3s/agent/pod-manifests/kube-vip.yaml", "/etc/rancher/k3s/k3s.yaml"
    ),
}


def kube_vip_image(mirror: str | None) -> str:
    """kube-vip's pinned image, from ``mirror`` (a registry host[:port][/path]) if given."""
    registry = KUBE_VIP_REGISTRY if mirror is None else mirror
    return f"{registry}/{KUBE_VIP_REPOSITORY}:{KUBE_VIP_VERSION}"


def kube_vip_manifest(
    cluster: ClusterPlan, node: NodePlan, *, image: str | None = None
) -> ConfigFile:
    """The kube-vip static pod for a control-plane ``node`` of ``cluster``, at the path
    its distribution's kubelet reads static pods from. ``image``: by default the pinned
    one from the layer's mirror (``kube_vip_image``). Raises ValueError for a worker or
    a node of another layer, VersionError for an unsupported version."""
    host = _HOSTS[cluster.distribution]
    text = yaml.safe_dump(kube_vip_pod(cluster, node, image=image), sort_keys=False)
    return ConfigFile(host.manifest, text, 0o600)


def kube_vip_pod(
    cluster: ClusterPlan, node: NodePlan, *, image: str | None = None
) -> dict[str, Any]:
    """The Pod as a plain dict (see kube_vip_manifest)."""
    if node.name not in cluster.control_plane:
        raise ValueError(f"node {node.name} is not a control-plane node of layer {cluster.name}")
    if image is None:
        image = kube_vip_image(cluster.image_repository)
    endpoint = parse_endpoint(cluster.endpoint)
    kubeconfig = _kubeconfig(cluster, node)
    container = {
        "name": "kube-vip",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["manager"],
        "env": [{"name": k, "value": v} for k, v in _settings(node, endpoint).items()],
        "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
        "volumeMounts": [{"name": "kubeconfig", "mountPath": _MOUNTED_AT, "readOnly": True}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-vip", "namespace": "kube-system"},
        "spec": {
            "containers": [container],
            "hostNetwork": True,
            "volumes": [{"name": "kubeconfig", "hostPath": {"path": kubeconfig, "type": "File"}}],
        },
    }


def _settings(node: NodePlan, endpoint: Endpoint) -> dict[str, str]:
    """kube-vip's environment, in the order ``kube-vip manifest pod`` writes it."""
    settings = {"vip_arp": "true", "port": str(endpoint.port)}
    nic = interface_for_vip(node, endpoint.vip)
    if nic is not None and nic.name is not None:
        settings["vip_interface"] = nic.name
    settings |= {
        "vip_cidr": "32" if endpoint.vip.version == 4 else "128",  # the VIP alone
        "cp_enable": "true",
        "cp_namespace": "kube-system",
        "vip_leaderelection": "true",
        "vip_leasename": "plndr-cp-lock",
        "vip_leaseduration": "5",
        "vip_renewdeadline": "3",
        "vip_retryperiod": "1",
        "address": str(endpoint.vip),
    }
    return settings


def _kubeconfig(cluster: ClusterPlan, node: NodePlan) -> str:
    """The host kubeconfig kube-vip mounts: super-admin.conf on a kubeadm init node of
    Kubernetes >= 1.29 (see the module docstring), the distribution's admin one else."""
    if cluster.distribution == "k3s":
        k3s_release(cluster.version)
        return _HOSTS["k3s"].kubeconfig
    version = kubernetes_version(cluster.version)
    kubeadm_api(version)  # refuses an unsupported version
    if is_init_node(cluster, node) and version >= SUPER_ADMIN_SINCE:
        return _SUPER_ADMIN
    return _HOSTS["kubeadm"].kubeconfig
