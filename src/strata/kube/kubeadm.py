"""kubeadm configuration for each node of a kubeadm layer: InitConfiguration and
ClusterConfiguration for the first control-plane node, JoinConfiguration for the others
(with ``controlPlane`` on control-plane nodes), in the layout of the config API the
layer's Kubernetes reads (versions.kubeadm_api).

Field names and shapes follow the kubeadm Go types (kubernetes/kubernetes
cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go and v1beta4/types.go; the bootstrap token
from cmd/kubeadm/app/apis/bootstraptoken/v1/types.go) and the reference pages
https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/ and
https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/. The one layout
difference Strata meets: v1beta3 writes ``extraArgs`` and ``kubeletExtraArgs`` as a map,
v1beta4 as a list of ``{name, value}``.

A layer's ``image_repository`` (topology.yaml's ``imageRepository``) goes into the
ClusterConfiguration's field of that name (types.go ``ImageRepository``).

The file holds the bootstrap token (and the certificate key on control-plane nodes):
mode 0600. The init node runs ``kubeadm init --config <path> --upload-certs`` so that the
other control-plane nodes can fetch the certificates with the certificate key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from strata.kube.endpoint import Endpoint, interface_for_vip, parse_endpoint
from strata.kube.files import ConfigFile
from strata.kube.material import JoinMaterial
from strata.kube.node import is_init_node, kubelet_args
from strata.kube.podnet import uses_pod_network
from strata.kube.versions import kubeadm_api, kubernetes_version

if TYPE_CHECKING:
    from strata.plan.model import ClusterPlan, NodePlan

__all__ = [
    "BOOTSTRAP_TOKEN_GROUP",
    "KUBEADM_CONFIG_PATH",
    "V1BETA3",
    "V1BETA4",
    "init_documents",
    "join_documents",
    "kubeadm_config",
]

V1BETA3 = "kubeadm.k8s.io/v1beta3"
V1BETA4 = "kubeadm.k8s.io/v1beta4"
KUBEADM_CONFIG_PATH = "/etc/strata/kubeadm.yaml"
# What `kubeadm token create` gives a token: kubeadm's constants.NodeBootstrapTokenAuthGroup
# and the usages of bootstraptoken/v1 (cmd/kubeadm/app/constants/constants.go).
BOOTSTRAP_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
_TOKEN_USAGES = ("signing", "authentication")
_NO_NODE_CIDRS = {"allocate-node-cidrs": "false"}


def kubeadm_config(
    cluster: ClusterPlan, node: NodePlan, material: JoinMaterial, *, topology: str
) -> ConfigFile:
    """The node's kubeadm config file: init documents for the layer's first control-plane
    node, a join document for every other node. ``topology``: the topology's name (for
    the providerID). Raises VersionError for an unsupported version and ValueError if the
    node is not a member of ``cluster`` or the layer is not a kubeadm layer."""
    build = init_documents if is_init_node(cluster, node) else join_documents
    text = yaml.safe_dump_all(build(cluster, node, material, topology=topology), sort_keys=False)
    return ConfigFile(KUBEADM_CONFIG_PATH, text, 0o600)


def init_documents(
    cluster: ClusterPlan, node: NodePlan, material: JoinMaterial, *, topology: str
) -> list[dict[str, Any]]:
    """[InitConfiguration, ClusterConfiguration] for the init node, as plain dicts."""
    api, endpoint = _api(cluster), parse_endpoint(cluster.endpoint)
    init: dict[str, Any] = {
        "apiVersion": api,
        "kind": "InitConfiguration",
        "bootstrapTokens": [
            {
                "token": material.token,
                "description": f"Strata: nodes joining layer {cluster.name}",
                "ttl": material.ttl_duration,
                "usages": list(_TOKEN_USAGES),
                "groups": [BOOTSTRAP_TOKEN_GROUP],
            }
        ],
        "nodeRegistration": _registration(api, node, topology),
        "localAPIEndpoint": _local_endpoint(node, endpoint),
        "certificateKey": material.certificate_key,
    }
    return [init, _cluster_configuration(api, cluster, endpoint)]


def join_documents(
    cluster: ClusterPlan, node: NodePlan, material: JoinMaterial, *, topology: str
) -> list[dict[str, Any]]:
    """[JoinConfiguration] for a node other than the init node, as a plain dict; with
    ``controlPlane`` (local endpoint, certificate key) on a control-plane node."""
    api, endpoint = _api(cluster), parse_endpoint(cluster.endpoint)
    join: dict[str, Any] = {
        "apiVersion": api,
        "kind": "JoinConfiguration",
        "nodeRegistration": _registration(api, node, topology),
        "discovery": {
            "bootstrapToken": {
                "token": material.token,
                "apiServerEndpoint": endpoint.host_port,
                "caCertHashes": list(material.ca_cert_hashes),
            }
        },
    }
    if node.name in cluster.control_plane:
        join["controlPlane"] = {
            "localAPIEndpoint": _local_endpoint(node, endpoint),
            "certificateKey": material.certificate_key,
        }
    return [join]


def _api(cluster: ClusterPlan) -> str:
    if cluster.distribution != "kubeadm":
        raise ValueError(f"layer {cluster.name} is a {cluster.distribution} layer, not kubeadm")
    return kubeadm_api(kubernetes_version(cluster.version))


def _cluster_configuration(api: str, cluster: ClusterPlan, endpoint: Endpoint) -> dict[str, Any]:
    """``imageRepository`` only when the layer names a mirror: kubeadm then pulls
    ``{imageRepository}/kube-apiserver:vX.Y.Z`` and the rest (etcd, CoreDNS, kube-proxy)
    there instead of registry.k8s.io. Joining nodes read it from the cluster (the
    kubeadm-config ConfigMap), so the JoinConfiguration has no such field.

    With Strata's pod network (``strata.kube.podnet``) each node's pod subnet is
    Strata's: the controller manager gets ``allocate-node-cidrs=false`` (extraArgs
    override the flags kubeadm derives from ``podSubnet``, which turn it on; "Customizing
    components with the kubeadm API"), so no Node carries a ``spec.podCIDR`` other than
    the one its pods use. ``podSubnet`` stays: kubeadm gives it to kube-proxy as
    ``clusterCIDR``, which tells pod traffic from outside traffic."""
    config: dict[str, Any] = {
        "apiVersion": api,
        "kind": "ClusterConfiguration",
        "clusterName": cluster.name,
        "kubernetesVersion": kubernetes_version(cluster.version).tag,
    }
    if cluster.image_repository is not None:
        config["imageRepository"] = cluster.image_repository
    config |= {
        "controlPlaneEndpoint": endpoint.host_port,
        "networking": {"podSubnet": cluster.pod_cidr, "serviceSubnet": cluster.service_cidr},
        "apiServer": {"certSANs": [str(endpoint.vip)]},
    }
    if uses_pod_network(cluster):
        config["controllerManager"] = {"extraArgs": _args(api, _NO_NODE_CIDRS)}
    return config


def _registration(api: str, node: NodePlan, topology: str) -> dict[str, Any]:
    return {"name": node.name, "kubeletExtraArgs": _args(api, kubelet_args(topology, node))}


def _args(api: str, args: Mapping[str, str]) -> dict[str, str] | list[dict[str, str]]:
    """v1beta3: ``{flag: value}``; v1beta4: ``[{name: flag, value: value}]`` (types.go Arg)."""
    if api == V1BETA3:
        return dict(args)
    return [{"name": name, "value": value} for name, value in args.items()]


def _local_endpoint(node: NodePlan, endpoint: Endpoint) -> dict[str, Any]:
    """The API server on this node binds the VIP's port (kube-vip in ARP mode moves the
    address, not the port) and advertises the node's own address on the VIP's network
    when the plan knows it (otherwise kubeadm picks the default route's address)."""
    nic = interface_for_vip(node, endpoint.vip)
    local: dict[str, Any] = {}
    if nic is not None and nic.address is not None:
        local["advertiseAddress"] = nic.address.split("/")[0]
    local["bindPort"] = endpoint.port
    return local
