"""The Cluster API objects a Metal3 user writes for one kubeadm layer.

Kinds and fields follow the CRDs of kubernetes-sigs/cluster-api and
metal3-io/cluster-api-provider-metal3 at their storage version, ``v1beta2``
(../shared/crds; Cluster API's "v1beta2" contract: references are
``{apiGroup, kind, name}`` in the object's own namespace):

- ``Cluster``: ``clusterNetwork`` (pod and service CIDRs, the API server port),
  ``infrastructureRef`` -> Metal3Cluster, ``controlPlaneRef`` -> KubeadmControlPlane;
- ``Metal3Cluster``: ``controlPlaneEndpoint`` = the layer's VIP and port;
- ``KubeadmControlPlane``: replicas = the layer's control-plane nodes, the Kubernetes
  version, the kubeadm settings Strata writes (strata.kube.kubeadm) where Cluster API
  has a field for them, Ignition as the bootstrap format (Flatcar, Fedora CoreOS and
  RHCOS boot from Ignition), the nodes' SSH keys for the ``core`` user;
- ``Metal3MachineTemplate`` per role: ``hostSelector`` matching the BareMetalHosts'
  labels (strata.metal3.hosts.host_labels), the OS image when one is known;
- ``MachineDeployment`` for the workers, whose bootstrap ``configRef`` names a
  ``KubeadmConfigTemplate`` (bootstrap.cluster.x-k8s.io/v1beta2; its
  ``spec.template.spec`` is a KubeadmConfig's spec, Cluster API's
  bootstrap/kubeadm/api/v1beta2/kubeadmconfigtemplate_types.go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from strata.kube.endpoint import parse_endpoint
from strata.kube.podnet import uses_pod_network
from strata.kube.versions import kubernetes_version
from strata.metal3.checks import short_label
from strata.metal3.hosts import LAYER_LABEL, ROLE_LABEL, TOPOLOGY_LABEL
from strata.plan import ClusterPlan

__all__ = [
    "BOOTSTRAP_GROUP",
    "CAPI_VERSION",
    "CLUSTER_GROUP",
    "CONTROL_PLANE_GROUP",
    "INFRASTRUCTURE_GROUP",
    "cluster_objects",
]

CAPI_VERSION = "v1beta2"
CLUSTER_GROUP = "cluster.x-k8s.io"
INFRASTRUCTURE_GROUP = "infrastructure.cluster.x-k8s.io"
CONTROL_PLANE_GROUP = "controlplane.cluster.x-k8s.io"
BOOTSTRAP_GROUP = "bootstrap.cluster.x-k8s.io"
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
DEPLOYMENT_NAME_LABEL = "cluster.x-k8s.io/deployment-name"
OS_USER = "core"  # the login of Flatcar, Fedora CoreOS and RHCOS


def cluster_objects(
    cluster: ClusterPlan,
    *,
    topology: str,
    namespace: str | None,
    ssh_keys: Sequence[str],
    images: Mapping[str, Mapping[str, str] | None],
) -> list[dict[str, Any]]:
    """Cluster, Metal3Cluster, KubeadmControlPlane, Metal3MachineTemplate(s) and, when
    the layer has workers, KubeadmConfigTemplate and MachineDeployment, as plain dicts.
    ``images``: role -> Metal3 ``image`` ({url, checksum, checksumType, diskFormat}) or
    None. Raises ValueError for a layer that is not kubeadm (Cluster API's kubeadm
    providers build only kubeadm clusters) and VersionError for a version Strata
    does not know."""
    if cluster.distribution != "kubeadm":
        raise ValueError(
            f"layer {cluster.name} is a {cluster.distribution} layer: Cluster API's kubeadm "
            "control plane and bootstrap providers build kubeadm clusters only"
        )
    version = kubernetes_version(cluster.version).tag
    name, meta = cluster.name, _meta_factory(namespace, cluster.name)

    def users() -> list[dict[str, Any]]:  # a fresh list per object: no YAML aliases
        return [{"name": OS_USER, "sshAuthorizedKeys": list(ssh_keys)}] if ssh_keys else []

    objects = [
        _cluster(cluster, meta(name)),
        _metal3_cluster(cluster, meta(name)),
        _control_plane(cluster, meta(name), version, users()),
        _template(
            meta(f"{name}-controlplane"),
            _selector(topology, name, "control-plane"),
            images.get("control-plane"),
        ),
    ]
    if cluster.workers:
        workers = f"{name}-workers"
        objects += [
            _template(meta(workers), _selector(topology, name, "worker"), images.get("worker")),
            _config_template(meta(workers), users()),
            _deployment(cluster, meta(workers), version),
        ]
    return objects


def _meta_factory(namespace: str | None, cluster: str) -> Any:
    def meta(name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name}
        if namespace is not None:
            out["namespace"] = namespace
        out["labels"] = {CLUSTER_NAME_LABEL: cluster}
        return out

    return meta


def _ref(group: str, kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": group, "kind": kind, "name": name}


def _object(group: str, kind: str, meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{group}/{CAPI_VERSION}", "kind": kind, "metadata": meta, "spec": spec}


def _cluster(cluster: ClusterPlan, meta: dict[str, Any]) -> dict[str, Any]:
    endpoint = parse_endpoint(cluster.endpoint)
    spec = {
        "clusterNetwork": {
            "apiServerPort": endpoint.port,
            "pods": {"cidrBlocks": [cluster.pod_cidr]},
            "services": {"cidrBlocks": [cluster.service_cidr]},
        },
        "controlPlaneRef": _ref(CONTROL_PLANE_GROUP, "KubeadmControlPlane", cluster.name),
        "infrastructureRef": _ref(INFRASTRUCTURE_GROUP, "Metal3Cluster", cluster.name),
    }
    return _object(CLUSTER_GROUP, "Cluster", meta, spec)


def _metal3_cluster(cluster: ClusterPlan, meta: dict[str, Any]) -> dict[str, Any]:
    endpoint = parse_endpoint(cluster.endpoint)
    spec = {"controlPlaneEndpoint": {"host": str(endpoint.vip), "port": endpoint.port}}
    return _object(INFRASTRUCTURE_GROUP, "Metal3Cluster", meta, spec)


def _control_plane(
    cluster: ClusterPlan, meta: dict[str, Any], version: str, users: list[dict[str, Any]]
) -> dict[str, Any]:
    """What strata.kube.kubeadm's ClusterConfiguration carries that Cluster API does not
    derive itself (clusterName, kubernetesVersion, controlPlaneEndpoint and networking
    come from the Cluster): the image repository, the VIP as a certificate SAN, and
    ``allocate-node-cidrs=false`` with Strata's pod network."""
    configuration: dict[str, Any] = {
        "apiServer": {"certSANs": [str(parse_endpoint(cluster.endpoint).vip)]}
    }
    if cluster.image_repository is not None:
        configuration["imageRepository"] = cluster.image_repository
    if uses_pod_network(cluster):
        configuration["controllerManager"] = {
            "extraArgs": [{"name": "allocate-node-cidrs", "value": "false"}]
        }
    config_spec: dict[str, Any] = {"clusterConfiguration": configuration, "format": "ignition"}
    if users:
        config_spec["users"] = users
    spec = {
        "replicas": len(cluster.control_plane),
        "version": version,
        "kubeadmConfigSpec": config_spec,
        "machineTemplate": {
            "spec": {
                "infrastructureRef": _ref(
                    INFRASTRUCTURE_GROUP, "Metal3MachineTemplate", f"{cluster.name}-controlplane"
                )
            }
        },
    }
    return _object(CONTROL_PLANE_GROUP, "KubeadmControlPlane", meta, spec)


def _selector(topology: str, layer: str, role: str) -> dict[str, Any]:
    return {"matchLabels": {TOPOLOGY_LABEL: topology, LAYER_LABEL: layer, ROLE_LABEL: role}}


def _template(
    meta: dict[str, Any], selector: dict[str, Any], image: Mapping[str, str] | None
) -> dict[str, Any]:
    machine: dict[str, Any] = {"hostSelector": selector}
    if image is not None:
        machine["image"] = dict(image)
    spec = {"template": {"spec": machine}}
    return _object(INFRASTRUCTURE_GROUP, "Metal3MachineTemplate", meta, spec)


def _config_template(meta: dict[str, Any], users: list[dict[str, Any]]) -> dict[str, Any]:
    config: dict[str, Any] = {"format": "ignition"}
    if users:
        config["users"] = users
    return _object(BOOTSTRAP_GROUP, "KubeadmConfigTemplate", meta, {"template": {"spec": config}})


def _deployment(cluster: ClusterPlan, meta: dict[str, Any], version: str) -> dict[str, Any]:
    # a label value holds 63 characters, a name 253: a long layer's name is shortened
    labels = {CLUSTER_NAME_LABEL: cluster.name, DEPLOYMENT_NAME_LABEL: short_label(meta["name"])}
    spec = {
        "clusterName": cluster.name,
        "replicas": len(cluster.workers),
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "clusterName": cluster.name,
                "version": version,
                "bootstrap": {
                    "configRef": _ref(BOOTSTRAP_GROUP, "KubeadmConfigTemplate", meta["name"])
                },
                "infrastructureRef": _ref(
                    INFRASTRUCTURE_GROUP, "Metal3MachineTemplate", meta["name"]
                ),
            },
        },
    }
    return _object(CLUSTER_GROUP, "MachineDeployment", meta, spec)
