"""What a rolled-back move leaves in a target namespace that existed before it (so the
rollback does not delete the namespace): nothing of the topology — in particular not
the boot service's token-signing key, a secret the move wrote there."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.pivot import End, Options, Pivot, PivotFailed, failpoints
from tests.integration.pivot.conftest import TOPOLOGY, provisioned_state
from tests.support.kube_api import ControlPlane


def _secrets(plane: ControlPlane, namespace: str) -> list[str]:
    with plane.client() as api:
        path = f"/api/v1/namespaces/{namespace}/secrets"
        found = api.get(path, params={"labelSelector": f"strata.dev/topology={TOPOLOGY}"})
        return sorted(s["metadata"]["name"] for s in found.json()["items"])


def test_a_rollback_into_an_existing_namespace_leaves_no_token_key(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    with plane.client() as api:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert api.post("/api/v1/namespaces", json=body).status_code == 201
    state = tmp_path / "strata.db"
    provisioned_state(state, 5)

    def broken() -> None:
        assert _secrets(plane, namespace)  # the copy wrote them
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = broken
    source = End.sqlite(state, TOPOLOGY)
    target = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    mover = Pivot(source, target, Options(say=lambda line: None))
    with pytest.raises(PivotFailed, match="verify would fail"):
        mover.run()
    mover.close()
    assert _secrets(plane, namespace) == []


def test_a_rollback_keeps_the_crds_another_topology_uses_now(
    fresh_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    plane = fresh_plane
    # The move made the CRDs; meanwhile another topology moved its Servers into
    # another namespace of the same cluster. Deleting the CRDs on the rollback deleted
    # every one of its Servers with them: that topology's whole state, lost.
    state = tmp_path / "strata.db"
    provisioned_state(state, 3)
    other = f"{namespace}-other"
    servers = f"/apis/strata.dev/v1alpha1/namespaces/{other}/servers"

    def another_topology_moves_in() -> None:
        with plane.client() as api:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}}
            assert api.post("/api/v1/namespaces", json=body).status_code == 201
            labels = {"strata.dev/topology": "other"}
            server = {"apiVersion": "strata.dev/v1alpha1", "kind": "Server", "spec": {}}
            server["metadata"] = {"name": "other.n1", "labels": labels}
            assert api.post(servers, json=server).status_code == 201
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = another_topology_moves_in
    lines = failed_move(state, plane, namespace, "verify would fail")
    with plane.client() as api:
        found = api.get(servers).json()
        assert [s["metadata"]["name"] for s in found.get("items", [])] == ["other.n1"], found
    assert any("kept: in use by objects the move did not make" in line for line in lines)


def test_a_rollback_keeps_the_namespace_another_topology_moved_into(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    # The move made the namespace (the default "strata" is every topology's);
    # meanwhile another topology's state went into it. Deleting the namespace on the
    # rollback deleted that state.
    state = tmp_path / "strata.db"
    provisioned_state(state, 3)
    servers = f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/servers"

    def another_topology_moves_in() -> None:
        with plane.client() as api:
            server = {"apiVersion": "strata.dev/v1alpha1", "kind": "Server", "spec": {}}
            server["metadata"] = {"name": "other.n1", "labels": {"strata.dev/topology": "other"}}
            assert api.post(servers, json=server).status_code == 201
        raise RuntimeError("verify would fail")

    failpoints.ACTIONS["after:copy"] = another_topology_moves_in
    lines = failed_move(state, plane, namespace, "verify would fail")
    with plane.client() as api:
        found = api.get(f"/api/v1/namespaces/{namespace}").json()
        assert found["status"]["phase"] == "Active"
        names = [s["metadata"]["name"] for s in api.get(servers).json()["items"]]
        assert names == ["other.n1"]
    assert any(f"namespace {namespace} kept" in line for line in lines)


def failed_move(state: Path, plane: ControlPlane, namespace: str, why: str) -> list[str]:
    """A move of ``state`` into ``namespace`` that fails with ``why`` and rolls back;
    what it told the person."""
    source = End.sqlite(state, TOPOLOGY)
    target = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    lines: list[str] = []
    mover = Pivot(source, target, Options(say=lines.append))
    with pytest.raises(PivotFailed, match=why):
        mover.run()
    mover.close()
    return lines
