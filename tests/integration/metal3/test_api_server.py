"""The real kube-apiserver (v1.20.2, tests/support/kube_api.py) with Metal3's and
Cluster API's CRDs installed (../shared/crds, and the KubeadmConfigTemplate CRD derived
from KubeadmConfig's: tests/unit/metal3/crds.py) accepts every object
`strata export metal3` writes, and keeps every field: 1.20 prunes a field its schema
does not name without a word, so what comes back must hold all that was sent."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strata.metal3.checks import bad_labels
from strata.metal3.export import export_metal3
from tests.support.kube_api import ControlPlane, control_plane, wait_for
from tests.unit.metal3.conftest import EXAMPLES, options, readable_example
from tests.unit.metal3.crds import all_crds, crd

NAMESPACE = "default"
HYPERSCALE_HOSTS = 300  # a slice of the 10,009: the API server checks shapes, not counts


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with control_plane(tmp_path_factory.mktemp("kube")) as plane, plane.client() as client:
        _install_crds(plane, client)
        yield client


def for_1_20(schema: Any) -> Any:
    """The CRD as v1.20.2 takes it: without ``default: ""``, which that API server reads
    as a null default and refuses the CRD for (the 16 in KubeadmConfig's and
    KubeadmControlPlane's schemas sit on ``extraEnvs[].valueFrom.*KeyRef.name``, which an
    export never writes). 1.20 also ignores the CRDs' CEL rules (x-kubernetes-validations):
    the offline checks (tests/unit/metal3) are the strict ones."""
    if isinstance(schema, list):
        return [for_1_20(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {k: for_1_20(v) for k, v in schema.items() if not (k == "default" and v == "")}


def _install_crds(plane: ControlPlane, client: httpx.Client) -> None:
    for manifest in map(for_1_20, all_crds()):
        response = client.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=manifest
        )
        assert response.status_code == 201, (manifest["metadata"]["name"], response.text[:2000])
    for manifest in all_crds():
        name = manifest["metadata"]["name"]
        wait_for(functools.partial(_established, client, manifest), 60, f"CRD {name} served")


def _established(client: httpx.Client, manifest: dict[str, Any]) -> bool | None:
    """Established, and its kind in discovery (what creating an object needs)."""
    name, spec = manifest["metadata"]["name"], manifest["spec"]
    found = client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}").json()
    conditions = found.get("status", {}).get("conditions", [])
    if not any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
        return None
    version = next(v["name"] for v in spec["versions"] if v["storage"])
    listed = client.get(f"/apis/{spec['group']}/{version}")
    if listed.status_code != 200:
        return None
    plurals = {r["name"] for r in listed.json().get("resources", [])}
    return True if spec["names"]["plural"] in plurals else None


def _collection(document: dict[str, Any]) -> str:
    if document["kind"] == "Secret":
        return f"/api/v1/namespaces/{NAMESPACE}/secrets"
    plural = crd(document["kind"])["spec"]["names"]["plural"]
    return f"/apis/{document['apiVersion']}/namespaces/{NAMESPACE}/{plural}"


def missing(sent: Any, back: Any, path: str = "") -> list[str]:
    """Every field of ``sent`` that ``back`` does not hold with the same value."""
    if isinstance(sent, dict):
        if not isinstance(back, dict):
            return [path or "/"]
        return [m for k, v in sent.items() for m in missing(v, back.get(k, _ABSENT), f"{path}/{k}")]
    if isinstance(sent, list):
        if not isinstance(back, list) or len(back) != len(sent):
            return [path]
        return [
            m
            for i, (s, b) in enumerate(zip(sent, back, strict=True))
            for m in missing(s, b, f"{path}/{i}")
        ]
    return [] if sent == back else [path]


_ABSENT = object()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_exported_object_is_accepted_whole(
    example: Path, api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = readable_example(example, tmp_path, monkeypatch)
    documents = export_metal3(topology, options(topology, tmp_path, namespace=NAMESPACE)).documents
    if example.parent.name == "hyperscale":
        hosts = [d for d in documents if d["kind"] == "BareMetalHost"][:HYPERSCALE_HOSTS]
        documents = [d for d in documents if d["kind"] != "BareMetalHost"] + hosts
    prefix = f"{example.parent.name}-"
    created = 0
    for document in documents:
        document["metadata"]["name"] = prefix + document["metadata"]["name"]  # one namespace
        response = api.post(_collection(document), json=document)
        assert response.status_code == 201, (document["kind"], response.text[:2000])
        back = api.get(f"{_collection(document)}/{document['metadata']['name']}").json()
        assert missing(document, back) == [], (document["kind"], document["metadata"]["name"])
        created += 1
    assert created == len(documents)


def test_the_comparison_sees_a_pruned_field(api: httpx.Client) -> None:
    """1.20 takes an unknown field and drops it: the check above would say so."""
    host = {
        "apiVersion": "metal3.io/v1alpha1",
        "kind": "BareMetalHost",
        "metadata": {"name": "pruned", "namespace": NAMESPACE},
        "spec": {"online": True, "bmc": {"address": "ipmi://10.0.0.1", "credentialsName": "x"}},
    }
    host["spec"]["bmc"]["adress"] = "typo"  # type: ignore[index]
    assert api.post(_collection(host), json=host).status_code == 201
    back = api.get(f"{_collection(host)}/pruned").json()
    assert missing(host, back) == ["/spec/bmc/adress"]


def test_a_label_value_the_export_refuses_the_api_server_refuses(api: httpx.Client) -> None:
    """The export's label check (strata.metal3.checks) says what the API server says:
    a 64-character label value is refused, a 63-character one taken."""
    for length, status in ((63, 201), (64, 422)):
        host = {
            "apiVersion": "metal3.io/v1alpha1",
            "kind": "BareMetalHost",
            "metadata": {
                "name": f"label-{length}",
                "namespace": NAMESPACE,
                "labels": {"topology.kubernetes.io/zone": "z" * length},
            },
            "spec": {
                "online": True,
                "bmc": {"address": "ipmi://10.0.0.1", "credentialsName": "x"},
            },
        }
        response = api.post(_collection(host), json=host)
        assert response.status_code == status, response.text[:500]
        assert bool(bad_labels([host])) is (status == 422)
