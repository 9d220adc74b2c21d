"""deploy/rbac.yaml, deploy/deployment.yaml and deploy/kustomization.yaml's ConfigMap
say what strata.operator.manifests makes (what `strata pivot` installs), once
kustomize has set their namespace and its labels; the image is named in one place."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.operator import manifests

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
CLUSTER_WIDE = ("Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition")


def _kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "kustomization.yaml").read_text()))


def _kustomized(name: str) -> list[dict[str, Any]]:
    """The documents of deploy/NAME as `kubectl kustomize deploy/` gives them: the
    namespace set on namespaced objects, the kustomization's labels on every object's
    metadata (includeSelectors false: not on selectors or templates)."""
    k = _kustomization()
    labels = {p: v for entry in k["labels"] for p, v in entry["pairs"].items()}
    docs = []
    for doc in yaml.safe_load_all((DEPLOY / name).read_text()):
        if not doc:
            continue
        doc = copy.deepcopy(doc)
        if doc["kind"] not in CLUSTER_WIDE:
            doc["metadata"]["namespace"] = k["namespace"]
        doc["metadata"]["labels"] = {**(doc["metadata"].get("labels") or {}), **labels}
        docs.append(doc)
    return docs


def test_rbac_yaml_is_what_the_module_makes() -> None:
    ns = _kustomization()["namespace"]
    made = [manifests.service_account(ns), manifests.role(ns), manifests.role_binding(ns)]
    assert _kustomized("rbac.yaml") == [*made, *manifests.PEOPLE_ROLES]


def test_deployment_yaml_is_what_the_module_makes() -> None:
    ns = _kustomization()["namespace"]
    assert _kustomized("deployment.yaml") == [manifests.deployment(ns)]


def test_the_config_map_holds_the_kustomizations_settings() -> None:
    (generator,) = _kustomization()["configMapGenerator"]
    assert generator["name"] == manifests.NAME
    literals = dict(item.split("=", 1) for item in generator["literals"])
    assert manifests.config_map("x")["data"] == literals == manifests.SETTINGS


def test_the_image_is_named_once() -> None:
    """deploy/deployment.yaml's image is IMAGE, and no other module names an image."""
    (container,) = _kustomized("deployment.yaml")[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == manifests.IMAGE
    src = ROOT / "src" / "strata"
    naming = [p for p in src.rglob("*.py") if f'"{manifests.IMAGE}"' in p.read_text()]
    assert naming == [src / "operator" / "manifests.py"]


def test_paused_keeps_the_replicas_to_come_in_an_annotation() -> None:
    deployment = manifests.deployment("ns", replicas=3)
    stopped = manifests.paused(deployment)
    assert stopped["spec"]["replicas"] == 0
    assert stopped["metadata"]["annotations"] == {manifests.REPLICAS_ANNOTATION: "3"}
    assert deployment["spec"]["replicas"] == 3 and "annotations" not in deployment["metadata"]
    assert stopped["spec"]["template"] == deployment["spec"]["template"]


def test_every_object_has_a_path_in_its_namespace() -> None:
    paths = [manifests.object_path(o) for o in manifests.controller_objects("ns-a")]
    assert all("/namespaces/ns-a/" in p and p.endswith("/strata-controller") for p in paths)
    assert len(set(paths)) == 5


def test_a_pinned_deployment_names_its_nodes_and_needs_one() -> None:
    deployment = manifests.deployment("strata")
    assert manifests.pinned_to(deployment) is None
    pinned = manifests.pinned(deployment, ["w2", "w1"])
    assert manifests.pinned_to(pinned) == ["w1", "w2"]
    assert manifests.pinned_to(manifests.paused(pinned)) == ["w1", "w2"]
    assert "affinity" not in deployment["spec"]["template"]["spec"]  # a copy, not an edit
    with pytest.raises(ValueError, match="at least one Node"):
        manifests.pinned(deployment, [])
