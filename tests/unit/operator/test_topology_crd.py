"""The Topology CRD is generated from the topology model, structural, and committed under
deploy/crds/ in step with the code (STRATA_UPDATE_GOLDEN=1 rewrites the files)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from strata.operator.crds import DOCUMENT_ONLY, all_crds, manifest_yaml, topology_crd
from strata.operator.objects import topology_document, topology_object
from strata.operator.openapi import FREE_FORM, free_form_paths, structural
from strata.topology.jsonschema import topology_json_schema

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "deploy" / "crds"
EXAMPLES = sorted((ROOT / "examples").glob("*/topology.yaml"))
UPDATE = os.environ.get("STRATA_UPDATE_GOLDEN") == "1"
# What the API server does not check, and why (docs/in-cluster.md says the same):
FREE = {
    # an Ignition config written inline: Ignition's own schema, checked by Strata
    ".spec.defaults.ignition[].inline",
    ".spec.regions[].defaults.ignition[].inline",
    ".spec.regions[].zones[].defaults.ignition[].inline",
    ".spec.regions[].zones[].racks[].defaults.ignition[].inline",
    ".spec.regions[].zones[].racks[].nodes[].ignition[].inline",
    # a port count or a list of port names: no structural schema has such a union
    ".spec.regions[].zones[].racks[].switches[].ports",
    # a port name or number: int-or-string breaks 1.20's OpenAPI models (strata.operator.openapi)
    ".spec.regions[].zones[].racks[].nodes[].nics[].switchPort.port",
    # a boot method or a list of them in order (fallback): a string-or-list has no structural form
    ".spec.defaults.boot.method",
    ".spec.regions[].defaults.boot.method",
    ".spec.regions[].zones[].defaults.boot.method",
    ".spec.regions[].zones[].racks[].defaults.boot.method",
    ".spec.regions[].zones[].racks[].nodes[].boot.method",
}


def _spec_schema() -> dict[str, Any]:
    version = topology_crd()["spec"]["versions"][0]
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]  # type: ignore[no-any-return]


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for key, child in schema.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


def _json_paths(node: Any, defs: dict[str, Any], path: str = "") -> Iterator[str]:
    """Every property path of the JSON Schema, through $ref and anyOf."""
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        yield from _json_paths(defs[node["$ref"].rsplit("/", 1)[-1]], defs, path)
    for option in node.get("anyOf", []):
        yield from _json_paths(option, defs, path)
    for key, child in node.get("properties", {}).items():
        yield f"{path}.{key}"
        yield from _json_paths(child, defs, f"{path}.{key}")
    if "items" in node:
        yield from _json_paths(node["items"], defs, f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _json_paths(node["additionalProperties"], defs, f"{path}{{}}")


@pytest.mark.parametrize("crd", all_crds(), ids=lambda c: c["metadata"]["name"])
def test_committed_crd_is_current(crd: dict[str, Any]) -> None:
    path = CRDS / f"{crd['metadata']['name']}.yaml"
    if UPDATE:
        path.write_text(manifest_yaml(crd))
    assert path.read_text() == manifest_yaml(crd), "run: STRATA_UPDATE_GOLDEN=1 pytest " + __file__


def test_deploy_installs_every_crd_and_nothing_else() -> None:
    names = {f"{crd['metadata']['name']}.yaml" for crd in all_crds()}
    assert {p.name for p in CRDS.iterdir()} == names
    listed = YAML(typ="safe", pure=True).load((ROOT / "deploy/kustomization.yaml").read_text())
    assert {r.removeprefix("crds/") for r in listed["resources"] if r.startswith("crds/")} == names


def test_every_json_schema_property_is_in_the_crd() -> None:
    schema = topology_json_schema()
    crd_paths = {p for p, _ in _nodes(_spec_schema(), ".spec") if p[-1] not in "]}"}
    expected = {
        ".spec" + p
        for p in _json_paths(schema, schema["$defs"])
        if p.lstrip(".").split(".")[0].split("[")[0] not in DOCUMENT_ONLY
    }
    missing = {p for p in expected - crd_paths if not any(p.startswith(f + ".") for f in FREE)}
    assert expected and not missing
    assert {p for p in crd_paths - expected if not p.startswith(".spec.consent")} == {".spec"}


def test_the_schema_is_structural() -> None:
    """Kubernetes API docs, "Specifying a structural schema": a type on every node (or
    int-or-string / preserve-unknown-fields), no $ref, nothing but value checks in anyOf,
    no additionalProperties beside properties."""
    root = topology_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert "$ref" not in json.dumps(root) and "$defs" not in json.dumps(root)
    for path, node in _nodes(root):
        assert node.get("type") or node.get(FREE_FORM) or node.get("x-kubernetes-int-or-string"), (
            path
        )
        assert not ("properties" in node and "additionalProperties" in node), path
        for option in node.get("anyOf", []):
            assert set(option) <= {"format", "pattern", "enum", "minimum", "maximum"}, path
        assert not {"title", "default", "const"} & set(node), path


def test_free_form_nodes_are_the_known_ones() -> None:
    assert set(free_form_paths(_spec_schema(), ".spec")) == FREE


def test_unions_become_nullable_formats_and_free_form() -> None:
    racks = _spec_schema()["properties"]["regions"]["items"]["properties"]["zones"]["items"]
    rack = racks["properties"]["racks"]["items"]["properties"]
    nic = rack["nodes"]["items"]["properties"]["nics"]["items"]["properties"]
    assert rack["powerBudget"]["nullable"] is True and rack["powerBudget"]["type"] == "object"
    port = nic["switchPort"]["properties"]["port"]
    assert port["x-kubernetes-preserve-unknown-fields"] is True and "type" not in port
    network = _spec_schema()["properties"]["networks"]["items"]["properties"]
    assert network["cidr"]["type"] == "string" and network["cidr"]["format"] == "cidr"
    assert network["gateway"]["anyOf"] == [{"format": "ipv4"}, {"format": "ipv6"}]
    assert network["gateway"]["nullable"] is True and network["gateway"]["description"]


def test_lists_keyed_by_name_are_list_maps() -> None:
    spec = _spec_schema()["properties"]
    zones = spec["regions"]["items"]["properties"]["zones"]
    for node in (spec["credentials"], spec["networks"], spec["layers"], spec["regions"], zones):
        assert node["x-kubernetes-list-type"] == "map"
        assert node["x-kubernetes-list-map-keys"] == ["name"]
        assert "name" in node["items"]["required"]
    racks = zones["items"]["properties"]["racks"]
    assert "x-kubernetes-list-type" not in racks  # generator entries may share a name


def test_consent_status_and_columns() -> None:
    crd = topology_crd()
    version = crd["spec"]["versions"][0]
    spec = _spec_schema()
    assert set(spec["properties"]["consent"]["properties"]) == {"allowReprovision", "prune"}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    condition = status["conditions"]["items"]
    assert set(condition["required"]) == {
        "type",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    }
    assert {"observedGeneration", "servers", "states", "layers"} <= set(status)
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Valid", "Ready", "Servers", "Age"]
    assert crd["spec"]["names"]["plural"] == "topologies" and crd["spec"]["scope"] == "Namespaced"


def test_a_recursive_or_foreign_ref_is_refused() -> None:
    with pytest.raises(ValueError, match="refers to itself"):
        structural({"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}})
    with pytest.raises(ValueError, match="only"):
        structural({"$ref": "other.json#/x"})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_document_to_object_and_back(example: Path) -> None:
    document = YAML(typ="safe", pure=True).load(example.read_text())
    obj = topology_object(document, "strata-system", {"prune": True})
    assert obj["metadata"]["name"] == document["metadata"]["name"]
    assert obj["metadata"]["namespace"] == "strata-system"
    assert obj["metadata"].get("labels") == document["metadata"].get("labels")
    assert obj["spec"]["consent"] == {"prune": True}
    assert not set(DOCUMENT_ONLY) & set(obj["spec"])
    assert topology_document(obj) == document
