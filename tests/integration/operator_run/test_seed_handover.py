"""``strata.seed.handover.hand_over`` against a real API server with Strata's CRDs: the
seed's node is added to a Topology's ``spec.consent.allowReprovision``, next to the names
a person wrote there (kept), once however often it is asked; the rest of the spec is
not changed; a Topology that is not there, or an API server not reached, is a
``HandoverFailed`` naming the object, with nothing written."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.seed.handover import HandoverFailed, hand_over
from tests.integration.operator_run.conftest import TOPOLOGIES, _object
from tests.support.boot_server import free_port
from tests.support.fleet_topology import fleet_yaml
from tests.support.kube_api import ControlPlane
from tests.support.redfish_emulator import FakeSystem

SYSTEMS = [FakeSystem(f"uuid-{i}", f"node-{i}", f"52:54:00:00:00:0{i}") for i in range(2)]
DOCUMENT = yaml.safe_load(fleet_yaml("redfish+http://127.0.0.1:1", SYSTEMS, name="site"))


def _namespace(plane: ControlPlane) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
    return name


def _topology(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    with plane.client() as api:
        got = api.get(f"{TOPOLOGIES.format(ns=namespace)}/site")
        assert got.status_code == 200, got.text
        return dict(got.json())


def test_the_seed_node_joins_the_consent_a_person_wrote(plane: ControlPlane) -> None:
    namespace = _namespace(plane)
    with plane.client() as api:
        made = api.post(
            TOPOLOGIES.format(ns=namespace),
            json=_object(DOCUMENT, {"allowReprovision": ["node-0"], "prune": True}),
        )
        assert made.status_code == 201, made.text
    said: list[str] = []
    kubeconfig = plane.admin_kubeconfig()
    assert hand_over(kubeconfig, namespace, "site", "node-1", said.append) == ["node-0", "node-1"]
    spec = _topology(plane, namespace)["spec"]
    assert spec["consent"] == {"allowReprovision": ["node-0", "node-1"], "prune": True}
    assert {k: v for k, v in spec.items() if k != "consent"} == {
        k: v for k, v in DOCUMENT.items() if k not in ("apiVersion", "kind", "metadata")
    }
    version = _topology(plane, namespace)["metadata"]["resourceVersion"]
    assert hand_over(kubeconfig, namespace, "site", "node-1", said.append) == ["node-0", "node-1"]
    assert _topology(plane, namespace)["metadata"]["resourceVersion"] == version  # unwritten
    assert said == [
        f"hand-over: topologies/site in namespace {namespace}: "
        "spec.consent.allowReprovision += node-1",
        f"hand-over: topologies/site in namespace {namespace} already allows reinstalling node-1",
    ]


def test_no_topology_there_is_refused_naming_it(plane: ControlPlane) -> None:
    namespace = _namespace(plane)
    with pytest.raises(
        HandoverFailed, match=f"topologies/site in namespace {namespace}: the API server refused"
    ):
        hand_over(plane.admin_kubeconfig(), namespace, "site", "node-1", print)


def test_an_api_server_not_reached_is_said(plane: ControlPlane, tmp_path: Path) -> None:
    text = plane.admin_kubeconfig().read_text()
    gone = tmp_path / "gone.kubeconfig"
    gone.write_text(text.replace(plane.url, f"https://127.0.0.1:{free_port()}"))
    with pytest.raises(HandoverFailed, match="topologies/site in namespace strata: not reached"):
        hand_over(gone, "strata", "site", "node-1", print)
