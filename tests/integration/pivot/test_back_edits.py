"""`--back` removes what the move away made in the cluster it leaves — but not a
Topology object or BMC Secret edited there since (its generation, or resourceVersion,
moved from what the move recorded): kept, said, with the kubectl command to remove it
(``strata.pivot.edits``)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from strata.pivot.journal import Kept
from strata.store import SQLiteStore
from tests.integration.pivot.conftest import (
    TOPOLOGY,
    moved_with_lab_file,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
)
from tests.support.kube_api import ControlPlane

MERGE = {"Content-Type": "application/merge-patch+json"}


def test_the_way_back_keeps_a_topology_and_secret_edited_after_the_move(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", "b27-Secret-pw")
    state, file = moved_with_lab_file(plane, namespace, tmp_path, "--copy-credentials")
    topology = f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies/{TOPOLOGY}"
    secret = f"/api/v1/namespaces/{namespace}/secrets/{TOPOLOGY}-bmc-lab-bmc"
    with plane.client() as api:
        edit = {"spec": {"consent": {"prune": True}}}
        assert api.patch(topology, json=edit, headers=MERGE).status_code == 200
        label = {"metadata": {"labels": {"edited": "by-hand"}}}
        assert api.patch(secret, json=label, headers=MERGE).status_code == 200
    back = run_pivot("-f", str(file), "--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    with plane.client() as api:
        assert api.get(topology).status_code == 200
        assert api.get(secret).status_code == 200
    assert f"kept topologies/{TOPOLOGY}: edited in the cluster since move" in back.stdout
    assert "(generation 1 -> 2)" in back.stdout
    assert f"kubectl -n {namespace} delete topologies.strata.dev/{TOPOLOGY}" in back.stdout
    assert f"kept secrets/{TOPOLOGY}-bmc-lab-bmc: edited" in back.stdout
    assert "removed what move" in back.stdout and "deployments/strata-controller" in back.stdout
    assert "b27-Secret-pw" not in back.stdout + back.stderr


def test_a_rerun_after_a_crash_past_install_names_its_own_objects(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """The objects its earlier run made (the journal's, which a way back removes) are
    said as the move's, not as "found there and kept"."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 3).close()
    killed = pivot_to_cluster(state, plane, namespace, failpoint="after:install")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    again = pivot_to_cluster(state, plane, namespace)
    assert again.returncode == 0, again.stdout + again.stderr
    line = next(t for t in again.stdout.splitlines() if t.startswith("install:"))
    store = SQLiteStore(state)
    try:
        journal = Kept(store).read()
    finally:
        store.close()
    assert journal is not None
    mine = len(journal.created.get("objects") or [])
    assert mine > 0 and f"{mine} made by this move's earlier run" in line, line
    assert "0 found there and kept" in line, line
