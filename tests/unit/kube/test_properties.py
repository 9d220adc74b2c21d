"""Properties of every generated config, over every node of the midsize example's layers:
apiVersion and kind per API version, each API's field layout (cross-checked against the
kubeadm Go types' JSON names), providerID and labels, the token and the file modes, and
which kubeconfig kube-vip mounts."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
import yaml

from strata.kube import ConfigFile, k3s_config, kube_vip_manifest, kubeadm_config
from strata.kube.kubeadm import init_documents, join_documents
from strata.kube.vip import KUBE_VIP_IMAGE, kube_vip_pod
from strata.plan import ClusterPlan, InterfacePlan, NodePlan
from tests.unit.kube.examples import K3S_TOKEN, MATERIAL, layer, members, node, plan

REQUIRED_LABELS = (
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "strata.dev/rack",
)
VERSIONS = {"1.22.0": "v1beta3", "1.30.6": "v1beta3", "1.31.2": "v1beta4", "1.34.1": "v1beta4"}

# JSON names of the kubeadm types' fields Strata may write (v1beta3 and v1beta4 types.go,
# bootstraptoken/v1 types.go): a typo or a field of the wrong struct fails here.
FIELDS: dict[str, set[str]] = {
    "InitConfiguration": {
        "apiVersion",
        "kind",
        "bootstrapTokens",
        "nodeRegistration",
        "localAPIEndpoint",
        "certificateKey",
    },
    "ClusterConfiguration": {
        "apiVersion",
        "kind",
        "clusterName",
        "kubernetesVersion",
        "controlPlaneEndpoint",
        "networking",
        "apiServer",
        "controllerManager",
    },
    "JoinConfiguration": {"apiVersion", "kind", "nodeRegistration", "discovery", "controlPlane"},
    "bootstrapTokens": {"token", "description", "ttl", "usages", "groups"},
    "nodeRegistration": {"name", "criSocket", "taints", "kubeletExtraArgs"},
    "localAPIEndpoint": {"advertiseAddress", "bindPort"},
    "networking": {"serviceSubnet", "podSubnet", "dnsDomain"},
    "apiServer": {"extraArgs", "extraVolumes", "certSANs"},
    "controllerManager": {"extraArgs", "extraVolumes"},
    "discovery": {"bootstrapToken", "file", "tlsBootstrapToken"},
    "bootstrapToken": {"token", "apiServerEndpoint", "caCertHashes", "unsafeSkipCAVerification"},
    "controlPlane": {"localAPIEndpoint", "certificateKey"},
}


def _kubeadm_layers() -> list[tuple[ClusterPlan, NodePlan]]:
    out = []
    for name in ("mgmt", "prod"):
        cluster = layer("midsize", name)
        out += [(cluster, n) for n in members("midsize", cluster)]
    return out


def _documents(cluster: ClusterPlan, member: NodePlan) -> list[dict[str, Any]]:
    config = kubeadm_config(cluster, member, MATERIAL, topology="midsize")
    assert config.mode == 0o600 and config.path == "/etc/strata/kubeadm.yaml"
    return list(yaml.safe_load_all(config.contents))


def _registration_args(doc: dict[str, Any], api: str) -> dict[str, str]:
    args = doc["nodeRegistration"]["kubeletExtraArgs"]
    if api == "v1beta4":
        assert isinstance(args, list)
        assert all(set(arg) == {"name", "value"} for arg in args)
        return {arg["name"]: arg["value"] for arg in args}
    assert isinstance(args, dict)
    return dict(args)


def _check_fields(value: Any, kind: str) -> None:
    if isinstance(value, list):
        for item in value:
            _check_fields(item, kind)
        return
    if not isinstance(value, dict) or kind not in FIELDS:
        return
    assert set(value) <= FIELDS[kind], f"{kind}: {set(value) - FIELDS[kind]}"
    for key, inner in value.items():
        if key != "kubeletExtraArgs":
            _check_fields(inner, key)


@pytest.mark.parametrize(("version", "api"), sorted(VERSIONS.items()))
def test_every_kubeadm_document(version: str, api: str) -> None:
    for cluster, member in _kubeadm_layers():
        cluster = dataclasses.replace(cluster, version=version)
        docs = _documents(cluster, member)
        first = member.name == cluster.control_plane[0]
        kinds = ["InitConfiguration", "ClusterConfiguration"] if first else ["JoinConfiguration"]
        assert [d["kind"] for d in docs] == kinds
        assert {d["apiVersion"] for d in docs} == {f"kubeadm.k8s.io/{api}"}
        for doc in docs:
            _check_fields(doc, doc["kind"])
        args = _registration_args(docs[0], api)
        assert args["provider-id"] == f"strata://midsize/{member.name}"
        labels = dict(pair.split("=", 1) for pair in args["node-labels"].split(","))
        assert labels == dict(member.labels)
        assert set(REQUIRED_LABELS) <= set(labels)
        assert docs[0]["nodeRegistration"]["name"] == member.name
        joins_control_plane = not first and member.name in cluster.control_plane
        assert ("controlPlane" in docs[0]) == joins_control_plane


def test_the_cluster_configuration() -> None:
    cluster = layer("midsize", "mgmt")
    init = init_documents(
        cluster, node("midsize", cluster.control_plane[0]), MATERIAL, topology="m"
    )
    assert init[1]["controlPlaneEndpoint"] == "10.20.0.10:6443"
    assert init[1]["kubernetesVersion"] == "v1.31.2"
    assert init[1]["networking"] == {"podSubnet": "172.16.0.0/16", "serviceSubnet": "172.17.0.0/16"}
    assert init[0]["bootstrapTokens"][0]["ttl"] == "2h0m0s"


def test_an_ipv6_endpoint_is_bracketed() -> None:
    cluster = dataclasses.replace(layer("lab", "mgmt"), endpoint="https://[fd00::10]:6443")
    join = join_documents(cluster, node("lab", "lab-worker-0"), MATERIAL, topology="lab")
    assert join[0]["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "[fd00::10]:6443"
    pod = kube_vip_pod(cluster, node("lab", "lab-cp-0"))
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["address"] == "fd00::10" and env["vip_cidr"] == "128"


def test_kubeadm_refuses_a_k3s_layer_and_a_stranger() -> None:
    with pytest.raises(ValueError, match="not kubeadm"):
        kubeadm_config(
            layer("midsize", "batch"), node("midsize", "use-a-r01-w01"), MATERIAL, topology="m"
        )
    with pytest.raises(ValueError, match="not a member"):
        kubeadm_config(
            layer("midsize", "prod"), node("midsize", "use-a-r01-w01"), MATERIAL, topology="m"
        )


def test_every_k3s_config_carries_the_token_and_is_private() -> None:
    cluster = layer("midsize", "batch")
    server_only = {"cluster-init", "tls-san", "cluster-cidr", "service-cidr"}
    for member in members("midsize", cluster):
        config = k3s_config(cluster, member, K3S_TOKEN, topology="midsize")
        assert (config.path, config.mode) == ("/etc/rancher/k3s/config.yaml", 0o600)
        settings = yaml.safe_load(config.contents)
        assert settings["token"] == K3S_TOKEN
        assert settings["node-name"] == member.name
        assert settings["kubelet-arg"] == [f"provider-id=strata://midsize/{member.name}"]
        assert dict(x.split("=", 1) for x in settings["node-label"]) == dict(member.labels)
        first = member.name == cluster.control_plane[0]
        assert settings.get("cluster-init") is (True if first else None)
        assert ("server" in settings) == (not first)
        if member.name in cluster.control_plane:
            assert settings["tls-san"] == ["10.20.0.30"]
        else:
            assert not server_only & set(settings)


@pytest.mark.parametrize(
    ("version", "first_mounts"),
    [("1.28.9", "admin.conf"), ("1.29.0", "super-admin.conf"), ("1.31.2", "super-admin.conf")],
)
def test_kube_vip_mounts_super_admin_only_on_the_init_node_from_1_29(
    version: str, first_mounts: str
) -> None:
    cluster = dataclasses.replace(layer("midsize", "mgmt"), version=version)
    for name in cluster.control_plane:
        pod = kube_vip_pod(cluster, node("midsize", name))
        host = pod["spec"]["volumes"][0]["hostPath"]["path"]
        expected = first_mounts if name == cluster.control_plane[0] else "admin.conf"
        assert host == f"/etc/kubernetes/{expected}"
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        assert env["vip_leaderelection"] == env["vip_arp"] == "true"
        assert (env["address"], env["port"], env["vip_interface"]) == ("10.20.0.10", "6443", "eno1")


def test_kube_vip_image_can_be_a_mirror() -> None:
    cluster, cp = layer("lab", "mgmt"), node("lab", "lab-cp-0")
    assert kube_vip_pod(cluster, cp)["spec"]["containers"][0]["image"] == KUBE_VIP_IMAGE
    mirror = "registry.dc.example/kube-vip/kube-vip:v0.8.9"
    assert f"image: {mirror}" in kube_vip_manifest(cluster, cp, image=mirror).contents


def test_kube_vip_finds_its_interface_or_leaves_it_to_kube_vip() -> None:
    cluster, cp = layer("lab", "mgmt"), node("lab", "lab-cp-0")
    dhcp = dataclasses.replace(cp.interfaces[0], address=None)
    unnamed = dataclasses.replace(cp.interfaces[0], name=None)
    for nic in (dhcp, unnamed):
        env = kube_vip_pod(cluster, dataclasses.replace(cp, interfaces=(nic,)))["spec"][
            "containers"
        ][0]["env"]
        assert "vip_interface" not in {e["name"] for e in env}


def test_kube_vip_is_for_control_plane_nodes_only() -> None:
    with pytest.raises(ValueError, match="not a control-plane node"):
        kube_vip_manifest(layer("lab", "mgmt"), node("lab", "lab-worker-0"))


def test_a_layer_without_static_addresses_advertises_nothing() -> None:
    cp = node("lab", "lab-cp-0")
    bare = dataclasses.replace(
        cp,
        interfaces=(InterfacePlan(None, cp.boot_mac, "provisioning", None, None, (), None, None),),
    )
    init = init_documents(layer("lab", "mgmt"), bare, MATERIAL, topology="lab")
    assert init[0]["localAPIEndpoint"] == {"bindPort": 6443}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"token": "ABCDEF.0123456789abcdef"}, "token"),
        ({"token_ttl": timedelta(0)}, "token_ttl"),
        ({"ca_cert_hashes": ()}, "ca_cert_hashes"),
        ({"ca_cert_hashes": ("sha1:abc",)}, "ca_cert_hashes"),
        ({"certificate_key": "xyz"}, "certificate_key"),
    ],
)
def test_join_material_refuses_malformed_values(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(MATERIAL, **change)


def test_secrets_stay_out_of_reprs() -> None:
    assert MATERIAL.token not in repr(MATERIAL)
    assert MATERIAL.certificate_key not in repr(MATERIAL)
    config = kubeadm_config(layer("lab", "mgmt"), node("lab", "lab-cp-0"), MATERIAL, topology="lab")
    assert MATERIAL.token in config.contents and MATERIAL.token not in repr(config)
    assert isinstance(config, ConfigFile)


def test_the_plan_topology_names_the_provider_id() -> None:
    config = k3s_config(
        layer("midsize", "batch"),
        node("midsize", "use-a-r01-w01"),
        K3S_TOKEN,
        topology=plan("midsize").topology,
    )
    assert "strata://midsize/use-a-r01-w01" in config.contents
