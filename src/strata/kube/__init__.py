"""Kubernetes configuration for a layer's nodes, from its ClusterPlan and NodePlans. Pure:
values in, values (file contents with their path and mode) out.

- ``versions``: supported distributions and versions; the kubeadm config API of each.
- ``kubeadm``: InitConfiguration + ClusterConfiguration, JoinConfiguration.
- ``k3s``: ``/etc/rancher/k3s/config.yaml``.
- ``vip``: the kube-vip static pod holding the layer's VIP.
- ``node``: a node's name, labels and providerID (``strata://<topology>/<node>``).
- ``material``: the join secrets handed in (token, CA hashes, certificate key).
- ``podnet``: Strata's pod network on kubeadm layers (each node's pod subnet, CNI
  network list and routes to the other nodes' subnets).

The layer's PKI, bootstrap tokens, kubeconfigs and token discovery (``pki``, ``tokens``,
``kubeconfig``, ``discovery``) are imported by their full path, as their owner chose:
``pki`` and ``discovery`` load ``cryptography``, which ``strata validate`` (it reads
``versions`` through this package) has no need of.
"""

from strata.kube.files import ConfigFile
from strata.kube.k3s import k3s_config
from strata.kube.kubeadm import kubeadm_config
from strata.kube.material import JoinMaterial
from strata.kube.node import is_init_node, provider_id
from strata.kube.versions import (
    K3sRelease,
    KubeVersion,
    VersionError,
    kubeadm_api,
    supported_version,
)
from strata.kube.vip import KUBE_VIP_IMAGE, kube_vip_manifest

__all__ = [
    "KUBE_VIP_IMAGE",
    "ConfigFile",
    "JoinMaterial",
    "K3sRelease",
    "KubeVersion",
    "VersionError",
    "is_init_node",
    "k3s_config",
    "kube_vip_manifest",
    "kubeadm_api",
    "kubeadm_config",
    "provider_id",
    "supported_version",
]
