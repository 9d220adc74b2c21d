"""The CRDs of Metal3 and Cluster API in ../shared/crds, read for tests: each kind's
schema at the version exported (its storage version), made strict about unknown fields,
and a KubeadmConfigTemplate CRD derived from KubeadmConfig's (../shared/crds has none).

Strict: an object schema with ``properties`` and neither
``x-kubernetes-preserve-unknown-fields`` nor ``additionalProperties`` gets
``additionalProperties: false`` — what the API server does by pruning unknown fields,
turned into a failure. The top-level ``metadata`` (``type: object`` in every CRD) is
checked here as ObjectMeta's few fields an export writes.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.shared import shared

FILES = {
    "BareMetalHost": "metal3/metal3.io_baremetalhosts.yaml",
    "HardwareData": "metal3/metal3.io_hardwaredata.yaml",
    "Metal3Cluster": "metal3/infrastructure.cluster.x-k8s.io_metal3clusters.yaml",
    "Metal3Machine": "metal3/infrastructure.cluster.x-k8s.io_metal3machines.yaml",
    "Metal3MachineTemplate": "metal3/infrastructure.cluster.x-k8s.io_metal3machinetemplates.yaml",
    "Cluster": "cluster-api/cluster.x-k8s.io_clusters.yaml",
    "Machine": "cluster-api/cluster.x-k8s.io_machines.yaml",
    "MachineDeployment": "cluster-api/cluster.x-k8s.io_machinedeployments.yaml",
    "KubeadmConfig": "cluster-api/bootstrap.cluster.x-k8s.io_kubeadmconfigs.yaml",
    "KubeadmControlPlane": "cluster-api/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml",
}
METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@functools.cache
def crd(kind: str) -> dict[str, Any]:
    """The CRD manifest of ``kind``, as ../shared/crds holds it (KubeadmConfigTemplate:
    derived, see ``config_template_crd``)."""
    if kind == "KubeadmConfigTemplate":
        return config_template_crd()
    path: Path = shared("crds", *FILES[kind].split("/"))
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def all_crds() -> list[dict[str, Any]]:
    return [crd(kind) for kind in [*FILES, "KubeadmConfigTemplate"]]


def storage_version(kind: str) -> str:
    """``group/version`` of the version the CRD stores (and serves)."""
    manifest = crd(kind)
    version = next(v for v in manifest["spec"]["versions"] if v["storage"])
    assert version["served"], kind
    return f"{manifest['spec']['group']}/{version['name']}"


def config_template_crd() -> dict[str, Any]:
    """KubeadmConfigTemplate (bootstrap.cluster.x-k8s.io/v1beta2) as Cluster API's Go
    types define it (bootstrap/kubeadm/api/v1beta2/kubeadmconfigtemplate_types.go):
    ``spec.template`` = {metadata: {labels, annotations}, spec: a KubeadmConfig's spec}.
    Built from the KubeadmConfig CRD's schema of the same version, so the spec part is
    Cluster API's own."""
    config = crd("KubeadmConfig")
    version = next(v for v in config["spec"]["versions"] if v["storage"])
    config_spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["template"],
                "properties": {
                    "template": {
                        "type": "object",
                        "properties": {
                            "metadata": {
                                "type": "object",
                                "properties": {"labels": string_map, "annotations": string_map},
                            },
                            "spec": copy.deepcopy(config_spec),
                        },
                    }
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io"},
        "spec": {
            "group": "bootstrap.cluster.x-k8s.io",
            "names": {
                "kind": "KubeadmConfigTemplate",
                "listKind": "KubeadmConfigTemplateList",
                "plural": "kubeadmconfigtemplates",
                "singular": "kubeadmconfigtemplate",
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": version["name"],
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def strict(schema: Any) -> Any:
    """A copy of ``schema`` refusing fields it does not name (see the module's docstring)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) if k != "enum" and k != "default" else v for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def validator(kind: str) -> jsonschema.Draft7Validator:
    """Validates a whole object of ``kind`` at the storage version, strictly."""
    manifest = crd(kind)
    version = next(v for v in manifest["spec"]["versions"] if v["storage"])
    schema = strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = METADATA
    schema["properties"]["apiVersion"] = {"const": storage_version(kind)}
    schema["properties"]["kind"] = {"const": kind}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return jsonschema.Draft7Validator(schema)


def problems(document: dict[str, Any]) -> list[str]:
    """Every schema violation of ``document`` (its kind's CRD), as ``path: message``."""
    kind = document.get("kind")
    if kind == "Secret":
        return _secret_problems(document)
    if kind not in FILES and kind != "KubeadmConfigTemplate":
        return [f"kind {kind!r} has no CRD here"]
    return [
        f"{kind} {document['metadata'].get('name')}: "
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(str(kind)).iter_errors(document)
    ]


def _secret_problems(document: dict[str, Any]) -> list[str]:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "type", "data"],
        "properties": {
            "apiVersion": {"const": "v1"},
            "kind": {"const": "Secret"},
            "metadata": METADATA,
            "type": {"const": "Opaque"},
            "data": {
                "type": "object",
                "additionalProperties": False,
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "contentEncoding": "base64"},
                    "password": {"type": "string", "contentEncoding": "base64"},
                },
            },
        },
    }
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
