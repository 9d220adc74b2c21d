"""A layer's registry mirror (topology.yaml ``layers[].imageRepository``) for air-gapped
installs: validated at its line, carried to the ClusterPlan, and named where each piece
pulls images — kubeadm's ClusterConfiguration ``imageRepository``, k3s's
``system-default-registry`` (servers), kube-vip's image."""

from __future__ import annotations

import copy
import dataclasses
import io
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from strata.kube import k3s_config, kube_vip_manifest, kubeadm_config
from strata.kube.k3s import k3s_settings
from strata.kube.kubeadm import init_documents, join_documents
from strata.kube.vip import KUBE_VIP_IMAGE, kube_vip_image, kube_vip_pod
from strata.plan import ClusterPlan, build_plan
from strata.topology import check_text
from tests.unit.kube.examples import K3S_TOKEN, MATERIAL, layer, node, plan
from tests.unit.topology.test_rule_findings import BASE


def dump(doc: dict[str, Any]) -> str:
    """As test_rule_findings writes a document, without folding long values."""
    buffer, writer = io.StringIO(), YAML(typ="safe", pure=True)
    writer.width = 4096
    writer.dump(doc, buffer)
    return buffer.getvalue()


MIRROR = "registry.dc.example:5000/k8s"


def mirrored(example: str, name: str) -> ClusterPlan:
    return dataclasses.replace(layer(example, name), image_repository=MIRROR)


def test_kubeadm_init_names_the_mirror_in_its_cluster_configuration() -> None:
    cluster = mirrored("lab", "mgmt")
    docs = init_documents(cluster, node("lab", "lab-cp-0"), MATERIAL, topology="lab")
    assert docs[1]["kind"] == "ClusterConfiguration"
    assert docs[1]["imageRepository"] == MIRROR
    without = init_documents(
        layer("lab", "mgmt"), node("lab", "lab-cp-0"), MATERIAL, topology="lab"
    )
    assert "imageRepository" not in without[1]
    # the only difference: the one field
    assert {k: v for k, v in docs[1].items() if k != "imageRepository"} == without[1]


@pytest.mark.parametrize("version", ["1.30.6", "1.31.2"])  # v1beta3 and v1beta4
def test_the_field_is_in_both_config_apis(version: str) -> None:
    cluster = dataclasses.replace(mirrored("lab", "mgmt"), version=version)
    text = kubeadm_config(cluster, node("lab", "lab-cp-0"), MATERIAL, topology="lab").contents
    cluster_config = list(yaml.safe_load_all(text))[1]
    assert cluster_config["imageRepository"] == MIRROR


def test_joining_nodes_read_it_from_the_cluster() -> None:
    """JoinConfiguration has no imageRepository: kubeadm join reads the ClusterConfiguration
    from the cluster's kubeadm-config ConfigMap."""
    cluster = mirrored("midsize", "prod")
    for name in ("euw-b-r01-prod-cp", "euw-a-r01-w01"):
        (join,) = join_documents(cluster, node("midsize", name), MATERIAL, topology="midsize")
        assert MIRROR not in yaml.safe_dump(join)


def test_k3s_servers_get_system_default_registry_and_agents_do_not() -> None:
    cluster = mirrored("midsize", "batch")
    for name in ("use-a-r01-batch-cp", "use-b-r01-batch-cp"):
        settings = k3s_settings(cluster, node("midsize", name), K3S_TOKEN, topology="midsize")
        assert settings["system-default-registry"] == MIRROR
    agent = k3s_settings(cluster, node("midsize", "use-a-r01-w01"), K3S_TOKEN, topology="midsize")
    assert "system-default-registry" not in agent  # a server flag; agents get it from servers
    plain = k3s_config(
        layer("midsize", "batch"), node("midsize", "use-a-r01-batch-cp"), K3S_TOKEN, topology="m"
    )
    assert "system-default-registry" not in plain.contents


@pytest.mark.parametrize(
    ("example", "name", "member"),
    [("lab", "mgmt", "lab-cp-0"), ("midsize", "batch", "use-a-r01-batch-cp")],
)
def test_kube_vip_comes_from_the_mirror(example: str, name: str, member: str) -> None:
    pod = kube_vip_pod(mirrored(example, name), node(example, member))
    image = pod["spec"]["containers"][0]["image"]
    assert image == f"{MIRROR}/kube-vip/kube-vip:v0.8.9"
    assert KUBE_VIP_IMAGE.split("/", 1)[1] == image.removeprefix(f"{MIRROR}/")
    assert (
        kube_vip_pod(layer(example, name), node(example, member))["spec"]["containers"][0]["image"]
        == KUBE_VIP_IMAGE
    )
    # an explicit image still wins
    other = "other.example/kube-vip:v0.8.9"
    manifest = kube_vip_manifest(mirrored(example, name), node(example, member), image=other)
    assert f"image: {other}" in manifest.contents


def test_kube_vip_image() -> None:
    assert kube_vip_image(None) == KUBE_VIP_IMAGE == "ghcr.io/kube-vip/kube-vip:v0.8.9"
    assert kube_vip_image("[fd00::5]:5000") == "[fd00::5]:5000/kube-vip/kube-vip:v0.8.9"


def test_the_examples_name_no_mirror() -> None:
    assert all(c.image_repository is None for c in plan("lab").clusters)


def _checked(value: str) -> tuple[str, list[tuple[str, str, str | None]]]:
    doc = copy.deepcopy(BASE)
    doc["layers"][0]["imageRepository"] = value
    text = dump(doc)
    checked = check_text(text, "t.yaml")
    return text, [(d.where, d.message, d.hint) for d in checked.diagnostics]


def test_a_valid_mirror_reaches_the_plan() -> None:
    doc = copy.deepcopy(BASE)
    doc["layers"][0]["imageRepository"] = MIRROR
    checked = check_text(dump(doc), "t.yaml")
    assert checked.diagnostics == ()
    assert checked.topology is not None
    (cluster,) = build_plan(checked.topology).clusters
    assert cluster.image_repository == MIRROR


@pytest.mark.parametrize(
    "value",
    [
        "registry.dc.example",
        "registry.dc.example:5000",
        "10.0.0.5:5000/mirror/k8s",
        "[fd00::5]:5000/k8s",
        "localhost/a_b/c__d/e--f/g.h",
        "mcr.microsoft.com/oss/kubernetes",
    ],
)
def test_registries_are_accepted(value: str) -> None:
    assert _checked(value)[1] == []


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("https://registry.dc.example/k8s", "not a URL: drop 'https://'"),
        ("http://registry.dc.example", "not a URL: drop 'http://'"),
        ("registry.dc.example/", "ends with '/'"),
        ("registry.dc.example/k8s:v1.31.2", "tag or digest"),
        ("registry.dc.example/k8s@sha256:" + "0" * 64, "tag or digest"),
        ("registry.dc.example/K8s", "not a registry host[:port][/path]"),
        ("registry .dc.example", "not a registry host[:port][/path]"),
        ("-registry.dc.example", "not a registry host[:port][/path]"),
        ("registry.dc.example:99999", "port 99999 is outside 1-65535"),
        ("registry.dc.example:0/k8s", "port 0 is outside 1-65535"),
        ("r" * 201, "201 characters; at most 200"),
    ],
)
def test_other_forms_are_refused_at_the_value(value: str, says: str) -> None:
    text, found = _checked(value)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "imageRepository:" in row)
    column = text.splitlines()[line - 1].index("imageRepository:") + len("imageRepository: ") + 1
    assert len(found) == 1, found
    where, message, hint = found[0]
    assert where == f"t.yaml:{line}:{column}"
    assert says in message
    assert hint is not None and "host[:port][/path]" in hint
