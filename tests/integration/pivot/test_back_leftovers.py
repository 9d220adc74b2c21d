"""What the cluster a move leaves keeps (real API servers, `strata pivot` processes): at
the switch its controller's Deployment is scaled to 0 (its replicas kept in
``strata.dev/replicas`` for a move back), and a way back removes what the move away
installed there — the journal's own list: the controller's objects, the BMC password's
Secret, the Topology made from FILE — keeping what was there before it and the moved
state's copy, and saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.operator import manifests
from tests.integration.pivot.conftest import (
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
)
from tests.integration.pivot.test_install import ENV, PASSWORD, _file, _get, _paths
from tests.support.kube_api import ControlPlane

NONE = ("--controller", "none")


def _scale(plane: ControlPlane, namespace: str, replicas: int) -> None:
    """The Deployment scaled as `--controller cluster` (or a person) would."""
    path = _paths(namespace)["Deployment"]
    with plane.client() as api:
        done = api.patch(
            path,
            json={"spec": {"replicas": replicas}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
    assert done.is_success, done.text


def test_the_way_back_removes_what_the_move_away_installed(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, file = tmp_path / "strata.db", _file(tmp_path)
    provisioned_state(state, 3).close()
    monkeypatch.setenv(ENV, PASSWORD)
    account = next(
        o for o in manifests.controller_objects(namespace) if o["kind"] == "ServiceAccount"
    )
    with plane.client() as api:  # there before the move: found equal, kept, not the move's
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).is_success
        path = manifests.object_path(account, collection=True)
        assert api.post(path, json=account).status_code == 201
    moved = pivot_to_cluster(state, plane, namespace, "-f", str(file), "--copy-credentials", *NONE)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    paths = _paths(namespace)
    assert all(_get(plane, p) is not None for p in paths.values())
    _scale(plane, namespace, 1)  # its controller started in the cluster
    back = run_pivot("--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    left = {kind: _get(plane, path) for kind, path in paths.items()}
    assert [k for k, v in left.items() if v is not None] == ["ServiceAccount"]
    assert f"kept in namespace {namespace}: the moved state's copy" in back.stdout
    assert "left behind: removed what move " in back.stdout
    assert PASSWORD not in back.stdout + back.stderr
    assert len(kube_store(plane, namespace).records()) == 3  # the copy kept, said so


def test_moving_between_clusters_scales_the_left_clusters_deployment_to_0(
    plane: ControlPlane, other_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 3).close()
    moved = pivot_to_cluster(state, plane, namespace, *NONE)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    _scale(plane, namespace, 2)  # no pod runs here (no kubelet): no Lease held, not refused
    a, b = (str(p.admin_kubeconfig()) for p in (plane, other_plane))
    ends = ("--kubeconfig", a, "-n", namespace, "--to-kubeconfig", b, "--to-namespace", namespace)
    across = run_pivot(*ends, *NONE)
    assert across.returncode == 0, across.stdout + across.stderr
    deployment = _get(plane, _paths(namespace)["Deployment"]) or {}
    assert deployment["spec"]["replicas"] == 0
    assert deployment["metadata"]["annotations"][manifests.REPLICAS_ANNOTATION] == "2"
    assert f"in {namespace} (the cluster left) scaled from 2 to 0" in across.stdout
    back = run_pivot("--kubeconfig", b, "-n", namespace, "--back", *NONE)
    assert back.returncode == 0, back.stdout + back.stderr
    assert _get(other_plane, _paths(namespace)["Deployment"]) is None  # the move away made it
    assert _get(plane, _paths(namespace)["Deployment"]) is not None  # home: kept, at 0
