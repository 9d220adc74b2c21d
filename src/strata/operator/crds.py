"""The custom resource definitions of Strata's in-cluster mode (group ``strata.dev``).

``Topology`` (namespaced, plural ``topologies``): ``spec`` is the topology document
minus ``apiVersion``/``kind``/``metadata`` — its schema generated from the same
pydantic model as ``schema/topology.schema.json`` (``strata.operator.openapi``) — plus
``spec.consent``, which is not part of the document: the destructive changes the
object's author allows (servers that may be reprovisioned, whether servers gone from
the topology may be deleted). ``status``: ``conditions`` (metav1.Condition: types
Valid, Planned, Progressing, Ready, Degraded), ``observedGeneration``, ``servers``
(how many), ``states`` (state -> servers) and ``layers`` (layer -> state -> servers).

The manifests follow apiextensions.k8s.io/v1 (Kubernetes API reference,
CustomResourceDefinition v1) and are committed under ``deploy/crds/``, kept in step by
a test (``STRATA_UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

from typing import Any

from strata.operator.openapi import structural
from strata.topology.jsonschema import topology_json_schema

__all__ = [
    "API_VERSION",
    "CONDITION_TYPES",
    "DOCUMENT_ONLY",
    "GROUP",
    "KEYED_LISTS",
    "VERSION",
    "VERSION_ANNOTATION",
    "all_crds",
    "manifest_yaml",
    "topology_crd",
    "topology_spec_schema",
]

GROUP = "strata.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CONDITION_TYPES = ("Valid", "Planned", "Progressing", "Ready", "Degraded")
DOCUMENT_ONLY = ("apiVersion", "kind", "metadata")  # the object's own, not its spec's
VERSION_ANNOTATION = f"{GROUP}/version"  # on each CRD: the Strata (package version) that made it

Schema = dict[str, Any]


def topology_crd() -> Schema:
    """The Topology CRD manifest (a dict ready to be dumped as YAML or sent as JSON)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"topologies.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": "Topology",
                "listKind": "TopologyList",
                "plural": "topologies",
                "singular": "topology",
                "shortNames": ["topo"],
                "categories": ["strata"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _printer_columns(),
                    "schema": {"openAPIV3Schema": _object_schema()},
                }
            ],
        },
    }


def all_crds() -> list[Schema]:
    """Every CRD Strata's controller needs: Topology, then Server, each annotated with
    the Strata that made it (``VERSION_ANNOTATION``: ``strata pivot`` refuses a
    cluster whose CRDs another major.minor of Strata installed)."""
    from strata.store.server_crd import server_crd

    return [_annotated(topology_crd()), _annotated(server_crd())]


def _annotated(manifest: Schema) -> Schema:
    from strata import __version__

    metadata = manifest["metadata"]
    annotations = {**metadata.get("annotations", {}), VERSION_ANNOTATION: __version__}
    return {**manifest, "metadata": {**metadata, "annotations": annotations}}


def manifest_yaml(manifest: Schema) -> str:
    """``manifest`` as the YAML committed under deploy/crds/ (keys in their order, a
    header saying where it comes from)."""
    import yaml

    header = "# Generated from Strata's models (strata.operator.crds): do not edit.\n"
    body: str = yaml.safe_dump(manifest, sort_keys=False, width=100, allow_unicode=True)
    return header + body


def topology_spec_schema() -> Schema:
    """The structural schema of a Topology's ``spec``: the document's, plus consent."""
    document = structural(topology_json_schema())
    properties = {k: v for k, v in document["properties"].items() if k not in DOCUMENT_ONLY}
    required = [k for k in document.get("required", []) if k not in DOCUMENT_ONLY]
    for path in KEYED_LISTS:
        _keyed_by_name(properties, path)
    spec: Schema = {
        "type": "object",
        "description": "The topology document (topology.yaml without apiVersion, kind and "
        "metadata: metadata.name is the object's name), plus consent.",
        "properties": {**properties, "consent": _consent_schema()},
    }
    if required:
        spec["required"] = required
    return spec


KEYED_LISTS = (("credentials",), ("networks",), ("layers",), ("regions",), ("regions", "zones"))
"""Lists whose entries are known by a required ``name``, unique as written (strata
validate refuses a repeated one): server-side apply merges them entry by entry
(``x-kubernetes-list-type: map``, Kubernetes API docs "Server-Side Apply", "Merge
strategy"), so several field managers can each own some entries. Racks and nodes are
left atomic: two generator entries may share a written name (``n{index}`` with two
starts), which a map would refuse, and per-entry managed fields would grow with every
server, eating into the object's etcd budget (``objects.MAX_OBJECT_BYTES``)."""


def _keyed_by_name(properties: Schema, path: tuple[str, ...]) -> None:
    node: Schema = properties[path[0]]
    for key in path[1:]:
        node = node["items"]["properties"][key]
    assert "name" in node["items"].get("required", []), path
    node["x-kubernetes-list-type"] = "map"
    node["x-kubernetes-list-map-keys"] = ["name"]


def _object_schema() -> Schema:
    return {
        "type": "object",
        "description": "A datacenter as Strata provisions it, from one topology document.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": topology_spec_schema(),
            "status": _status_schema(),
        },
        "required": ["spec"],
    }


def _consent_schema() -> Schema:
    return {
        "type": "object",
        "description": "Destructive changes this object allows; not part of the topology "
        "document. Until given, such a change waits, shown as a condition.",
        "properties": {
            "allowReprovision": {
                "type": "array",
                "description": "Nodes that may be reinstalled (their disks wiped) because "
                "their plan changed.",
                "items": {"type": "string"},
            },
            "prune": {
                "type": "boolean",
                "description": "Whether servers no longer in the topology may be "
                "deprovisioned and their Server objects deleted.",
            },
        },
    }


def _status_schema() -> Schema:
    count = {"type": "integer", "format": "int32", "minimum": 0}
    by_state = {"type": "object", "additionalProperties": count}
    return {
        "type": "object",
        "description": "What the controller last saw and did (written by it only).",
        "properties": {
            "observedGeneration": {
                "type": "integer",
                "format": "int64",
                "description": "The metadata.generation the status describes.",
            },
            "conditions": {
                "type": "array",
                "description": "Types: " + ", ".join(CONDITION_TYPES) + ".",
                "items": _condition_schema(),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
            "servers": {**count, "description": "Servers in the topology."},
            "states": {**by_state, "description": "Servers per lifecycle state."},
            "layers": {
                "type": "object",
                "description": "Servers per lifecycle state, per layer.",
                "additionalProperties": by_state,
            },
        },
    }


def _condition_schema() -> Schema:
    """metav1.Condition (k8s.io/apimachinery/pkg/apis/meta/v1/types.go) with its markers."""
    return {
        "type": "object",
        "required": ["type", "status", "lastTransitionTime", "reason", "message"],
        "properties": {
            "type": {
                "type": "string",
                "maxLength": 316,
                "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            },
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "pattern": r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            },
            "message": {"type": "string", "maxLength": 32768},
        },
    }


def _printer_columns() -> list[Schema]:
    def condition(name: str) -> Schema:
        path = f'.status.conditions[?(@.type=="{name}")].status'
        return {"name": name, "type": "string", "jsonPath": path}

    return [
        condition("Valid"),
        condition("Ready"),
        {"name": "Servers", "type": "integer", "jsonPath": ".status.servers"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
