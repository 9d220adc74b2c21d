"""``/etc/rancher/k3s/config.yaml`` for each node of a k3s layer.

The file holds k3s's command-line flags without their dashes
(https://docs.k3s.io/installation/configuration#configuration-file; every key below is a
flag of https://docs.k3s.io/cli/server or, for agents, https://docs.k3s.io/cli/agent).
High availability with embedded etcd (https://docs.k3s.io/datastore/ha-embedded): the
first server starts the cluster with ``cluster-init: true``, the other servers and every
agent name ``server: https://VIP:port``, and all of them share ``token``. ``tls-san``
puts the VIP into the API server's certificate. Agents get only agent flags
(``cluster-cidr``, ``service-cidr``, ``tls-san`` and ``cluster-init`` are server flags).

A layer's registry mirror (``image_repository``) is ``system-default-registry``, a
server flag: k3s prefixes every system image with it (``{registry}/rancher/mirrored-pause``,
CoreDNS, the bundled charts' images) and hands it to its agents with the rest of the
server's configuration, pause image included, so agents get no key of their own.

The file holds the token: mode 0600.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from strata.kube.endpoint import parse_endpoint
from strata.kube.files import ConfigFile
from strata.kube.node import is_init_node, node_labels, provider_id
from strata.kube.versions import supported_version

if TYPE_CHECKING:
    from strata.plan.model import ClusterPlan, NodePlan

__all__ = ["K3S_CONFIG_PATH", "K3S_DEFAULT_PORT", "k3s_config", "k3s_settings"]

K3S_CONFIG_PATH = "/etc/rancher/k3s/config.yaml"
K3S_DEFAULT_PORT = 6443  # --https-listen-port's default


def k3s_config(cluster: ClusterPlan, node: NodePlan, token: str, *, topology: str) -> ConfigFile:
    """The node's k3s config file. ``token``: the layer's shared k3s token (the bootstrap
    token of JoinMaterial serves); ``topology``: the topology's name (for the providerID).
    Raises VersionError for an unsupported k3s release and ValueError if the node is not
    a member of ``cluster`` or the layer is not a k3s layer."""
    text = yaml.safe_dump(k3s_settings(cluster, node, token, topology=topology), sort_keys=False)
    return ConfigFile(K3S_CONFIG_PATH, text, 0o600)


def k3s_settings(
    cluster: ClusterPlan, node: NodePlan, token: str, *, topology: str
) -> dict[str, Any]:
    """The config file's keys and values, as a plain dict (see k3s_config)."""
    if cluster.distribution != "k3s":
        raise ValueError(f"layer {cluster.name} is a {cluster.distribution} layer, not k3s")
    supported_version("k3s", cluster.version)
    endpoint = parse_endpoint(cluster.endpoint)
    settings: dict[str, Any] = {}
    if is_init_node(cluster, node):
        settings["cluster-init"] = True
    else:
        settings["server"] = endpoint.url
    settings["token"] = token
    settings["node-name"] = node.name
    settings["node-label"] = node_labels(node)
    settings["kubelet-arg"] = [f"provider-id={provider_id(topology, node.name)}"]
    if node.name in cluster.control_plane:
        settings["tls-san"] = [str(endpoint.vip)]
        settings["cluster-cidr"] = cluster.pod_cidr
        settings["service-cidr"] = cluster.service_cidr
        if endpoint.port != K3S_DEFAULT_PORT:
            settings["https-listen-port"] = endpoint.port
        if cluster.image_repository is not None:
            settings["system-default-registry"] = cluster.image_repository
    return settings
