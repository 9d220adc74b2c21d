"""A move between two clusters fences its copy of the Topology object too
(``strata.pivot.install.copy_topology``): a run stopped (SIGSTOP of its own, every
thread) between reading the target's Topology and confirming the move is still its
own, woken after a second run finished the move and the target's controller (a
status write standing in for it) changed the Topology's status, refuses and changes
nothing in the target cluster — not the controller's newer status."""

from __future__ import annotations

from pathlib import Path

import yaml

from strata.operator.objects import topology_object
from tests.integration.pivot.conftest import (
    TOPOLOGY,
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
    started,
    stopped,
    versions,
    woken,
)
from tests.support.kube_api import ControlPlane, wait_for

TOPOLOGIES = "/apis/strata.dev/v1alpha1/namespaces/{}/topologies"


def _in_first_cluster(plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    """A state file moved into ``plane`` (no controller), with its Topology object
    (status written) and the BMC password's Secret it refers to."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 20)
    moved = pivot_to_cluster(state, plane, namespace, "--controller", "none")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    document = yaml.safe_load(Path("examples/lab/topology.yaml").read_text())
    document["credentials"][0]["password"] = {"secret": {"name": "bmc", "key": "password"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bmc"}}
    secret["data"] = {"password": "aHVudGVyMg=="}
    with plane.client() as api:
        made = api.post(TOPOLOGIES.format(namespace), json=topology_object(document, namespace))
        assert made.status_code == 201, made.text
        status = {"observedGeneration": 1, "servers": 20}
        path = f"{TOPOLOGIES.format(namespace)}/{TOPOLOGY}/status"
        assert api.put(path, json={**made.json(), "status": status}).status_code == 200
        assert api.post(f"/api/v1/namespaces/{namespace}/secrets", json=secret).status_code == 201


def test_a_run_stalled_in_the_topology_copy_writes_nothing_once_woken(
    plane: ControlPlane, other_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    _in_first_cluster(plane, namespace, tmp_path)
    args = ("--kubeconfig", str(plane.admin_kubeconfig()), "-n", namespace)
    args += ("--to-kubeconfig", str(other_plane.admin_kubeconfig()), "--to-namespace", namespace)
    args += ("--controller", "none")
    release = tmp_path / "release"
    first = started(*args, STRATA_PIVOT_STOP=f"copy:topology:read={release}")
    try:
        wait_for(lambda: stopped(first.pid), 120, "the first run stopped")
        second = run_pivot(*args)
        assert second.returncode == 0, second.stdout + second.stderr
        path = f"{TOPOLOGIES.format(namespace)}/{TOPOLOGY}"
        with other_plane.client() as api:  # the target's controller's newer word
            there = api.get(path).json()
            newer = {**there["status"], "servers": 21}
            assert api.put(f"{path}/status", json={**there, "status": newer}).status_code == 200
        target = kube_store(other_plane, namespace)
        before = versions(target, (TOPOLOGIES.format(namespace),))
        out = woken(first, release)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode != 0 and "the move was taken over" in out, out
    assert (
        versions(target, (TOPOLOGIES.format(namespace),)) == before
    )  # the woken run wrote nothing there
    with other_plane.client() as api:
        assert api.get(path).json()["status"] == newer
