"""The Topology CRD on the real API server (v1.20.2): every example topology is accepted
as a Topology and read back unchanged (1.20 prunes unknown fields silently, so what
comes back is compared with what was sent); a wrong-typed field is refused naming it."""

from __future__ import annotations

import copy
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from strata.operator.objects import topology_object
from tests.support.kube_api import ControlPlane

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*/topology.yaml"))
TOPOLOGIES = "/apis/strata.dev/v1alpha1/namespaces/default/topologies"


def _object(example: Path, name: str | None = None) -> dict[str, Any]:
    document = YAML(typ="safe", pure=True).load(example.read_text())
    obj = topology_object(document, "default", {"allowReprovision": ["n1"], "prune": False})
    obj["metadata"]["name"] = name or f"{document['metadata']['name']}-{uuid.uuid4().hex[:6]}"
    return obj


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_is_accepted_and_read_back_unchanged(
    plane: ControlPlane, example: Path
) -> None:
    obj = _object(example)
    with plane.client() as api:
        created = api.post(TOPOLOGIES, json=obj)
        assert created.status_code == 201, created.text
        read = api.get(f"{TOPOLOGIES}/{obj['metadata']['name']}").json()
    assert read["spec"] == obj["spec"]  # nothing pruned, nothing defaulted
    assert read["metadata"].get("labels") == obj["metadata"].get("labels")


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("networks", 1, "vlan"), "ten", "spec.networks[1].vlan"),
        (("networks", 1, "cidr"), "not-a-cidr", "spec.networks[1].cidr"),
        (("defaults", "boot", "firmware"), "floppy", "spec.defaults.boot.firmware"),
        (("consent", "prune"), "yes", "spec.consent.prune"),
        (("layers", 0, "name"), "Not_A_Label", "spec.layers[0].name"),
    ],
)
def test_a_wrong_field_is_refused_with_its_path(
    plane: ControlPlane, where: tuple[str | int, ...], value: object, path: str
) -> None:
    obj = copy.deepcopy(_object(EXAMPLES[0]))
    _set(obj["spec"], where, value)
    with plane.client() as api:
        refused = api.post(TOPOLOGIES, json=obj)
    assert refused.status_code == 422, refused.text
    causes = {cause["field"] for cause in refused.json()["details"]["causes"]}
    assert causes == {re.sub(r"\[\d+\]", "", path)}  # 1.20 names no list index; 1.21+ do


def test_null_is_taken_where_the_model_allows_it(plane: ControlPlane) -> None:
    """A null written where the model allows it is accepted: kept, except beside an enum,
    where 1.20 drops it (no nullable there: it would check null against the enum)."""
    obj = _object(EXAMPLES[0])
    obj["spec"]["networks"][0]["gateway"] = None
    obj["spec"]["defaults"]["role"] = None
    with plane.client() as api:
        created = api.post(TOPOLOGIES, json=obj)
        assert created.status_code == 201, created.text
    del obj["spec"]["defaults"]["role"]
    assert created.json()["spec"] == obj["spec"]


def test_the_status_subresource_takes_conditions_and_counts(plane: ControlPlane) -> None:
    obj = _object(EXAMPLES[0])
    url = f"{TOPOLOGIES}/{obj['metadata']['name']}"
    condition = {
        "type": "Valid",
        "status": "True",
        "reason": "Validated",
        "message": "3 nodes",
        "lastTransitionTime": "2026-11-30T12:00:00Z",
        "observedGeneration": 1,
    }
    status = {
        "observedGeneration": 1,
        "conditions": [condition],
        "servers": 3,
        "states": {"provisioned": 3},
        "layers": {"mgmt": {"provisioned": 3}},
    }
    with plane.client() as api:
        created = api.post(TOPOLOGIES, json=obj).json()
        written = api.put(f"{url}/status", json={**created, "status": status})
        assert written.status_code == 200, written.text
        read = api.get(url).json()
    assert read["status"] == status
    assert read["spec"] == obj["spec"]


def _set(data: Any, where: tuple[str | int, ...], value: object) -> None:
    for key in where[:-1]:
        data = data.setdefault(key, {}) if isinstance(key, str) else data[key]
    data[where[-1]] = value
