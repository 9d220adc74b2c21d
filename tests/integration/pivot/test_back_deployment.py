"""A move from a cluster whose controller runs as the Deployment's replicas (`--controller
cluster` after the move away): the same as a host controller — not a block of
preflight, left running while the move may still be refused, scaled to 0 under the
freeze (its Leases awaited given back), scaled up again when the move is rolled back.
The test API server runs no kubelet: ``Replica`` stands in for the Deployment's pod,
holding a shard and a member Lease while the Deployment has replicas and giving them
back when it is scaled to 0, as the controller does on SIGTERM."""

from __future__ import annotations

import datetime
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.store import RecordWrite
from tests.integration.pivot.conftest import (
    hold_shard_lease,
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
)
from tests.integration.pivot.test_back_controller import _state_writer
from tests.integration.pivot.test_back_leftovers import _scale
from tests.integration.pivot.test_install import _get, _paths
from tests.support.kube_api import ControlPlane, wait_for

HOLDER = "strata-controller-7f9c-x2"


class Replica:
    """The Deployment's one pod as its Leases show it: held (renewed every 0.2 s) while
    the Deployment has replicas, deleted once it has none."""

    def __init__(self, plane: ControlPlane, namespace: str) -> None:
        self.plane, self.namespace = plane, namespace
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def pod(self) -> None:
        """Its Pod object (never scheduled: no Node here) with the Deployment's labels:
        a replica's identity in its Leases is its pod's name."""
        container = {"name": "controller", "image": "strata:test"}
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": HOLDER, "labels": {"app.kubernetes.io/name": "strata-controller"}},
            "spec": {"containers": [container], "automountServiceAccountToken": False},
        }
        with self.plane.client() as api:
            made = api.post(f"/api/v1/namespaces/{self.namespace}/pods", json=body)
            assert made.status_code == 201, made.text

    def _run(self) -> None:
        leases = f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"
        names = ("strata-shard-0", f"strata-member-{HOLDER}")
        with self.plane.client() as api:
            while not self.stop.wait(0.2):
                found = api.get(_paths(self.namespace)["Deployment"])
                wanted = found.status_code == 200 and found.json()["spec"].get("replicas", 1) > 0
                for name in names:
                    if wanted:
                        now = datetime.datetime.now(datetime.UTC)
                        spec = {"holderIdentity": HOLDER, "leaseDurationSeconds": 15}
                        spec["renewTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                        body: dict[str, Any] = {"metadata": {"name": name}, "spec": spec}
                        if api.put(f"{leases}/{name}", json=body).status_code == 404:
                            api.post(leases, json=body)
                    else:
                        api.delete(f"{leases}/{name}")

    def holds(self) -> bool | None:
        from strata.pivot.resume import live_holders

        return (
            HOLDER in live_holders(kube_store(self.plane, self.namespace).api, self.namespace)
            or None
        )


@pytest.fixture
def moved_with_replica(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> Iterator[tuple[Path, Replica]]:
    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    moved = pivot_to_cluster(state, plane, namespace, "--controller", "none")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    _scale(plane, namespace, 1)  # as --controller cluster does where a Node runs pods
    replica = Replica(plane, namespace)
    replica.pod()
    replica.thread.start()
    wait_for(replica.holds, 30, "the replica's Leases")
    try:
        yield state, replica
    finally:
        replica.stop.set()
        replica.thread.join(10)


def test_the_way_back_scales_the_running_deployment_to_0_under_its_freeze(
    plane: ControlPlane, namespace: str, moved_with_replica: tuple[Path, Replica]
) -> None:
    state, _ = moved_with_replica
    back = run_pivot("--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "scale it to 0 first" not in back.stdout
    assert f"deployment/strata-controller runs 1 replica(s) ({HOLDER})" in back.stdout
    lines = back.stdout.splitlines()
    scaled = next(i for i, t in enumerate(lines) if "scaled from 1 to 0" in t)
    checked = max(i for i, t in enumerate(lines) if t.startswith("preflight "))
    assert checked < scaled < lines.index("step freeze: done")
    assert _get(plane, _paths(namespace)["Deployment"]) is None  # the move away made it
    assert _state_writer(state) is None  # the state file in charge again


def test_a_refused_way_back_leaves_the_deployment_running(
    plane: ControlPlane, namespace: str, moved_with_replica: tuple[Path, Replica]
) -> None:
    state, replica = moved_with_replica
    store = kube_store(plane, namespace)
    version = store.records()["n0001"].version
    store.write_records(
        [RecordWrite("n0001", version, "failed", event=("state", {"to": "failed"}))]
    )
    back = run_pivot("--state", str(state), "--back", "--wait-steady", "0")
    assert back.returncode != 0 and "failed servers" in back.stdout + back.stderr
    assert (_get(plane, _paths(namespace)["Deployment"]) or {})["spec"]["replicas"] == 1
    time.sleep(1)  # the replica's next turns: still held
    assert replica.holds()


def test_a_way_back_rolled_back_scales_the_deployment_up_again(
    plane: ControlPlane, namespace: str, moved_with_replica: tuple[Path, Replica]
) -> None:
    state, replica = moved_with_replica
    moved_marker = _state_writer(state)
    killed = run_pivot("--state", str(state), "--back", failpoint="after:copy")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert (_get(plane, _paths(namespace)["Deployment"]) or {})["spec"]["replicas"] == 0
    aborted = run_pivot("--state", str(state), "--abort")
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    assert (_get(plane, _paths(namespace)["Deployment"]) or {})["spec"]["replicas"] == 1
    assert "scaled from 0 to 1" in aborted.stdout
    lines = aborted.stdout.splitlines()  # the reason first, then what was started again
    assert lines[0] == "rollback: failed: aborted by strata pivot --abort", lines
    wait_for(replica.holds, 30, "the replica's Leases again")
    assert _state_writer(state) == moved_marker  # never two writers: the file still moved


def test_a_controller_run_by_hand_beside_the_deployments_replicas_blocks(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """Replicas 1 but no pod of it runs, and a controller run by hand holds the Leases:
    not counted as a replica — preflight blocks naming it, nothing frozen or scaled."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    moved = pivot_to_cluster(state, plane, namespace, "--controller", "none")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    _scale(plane, namespace, 1)
    hold_shard_lease(plane, namespace)  # strata-7f9c-x2, run by hand
    back = run_pivot("--state", str(state), "--back")
    assert back.returncode != 0
    assert "preflight block" in back.stdout, back.stdout
    assert "strata-7f9c-x2 hold its Leases: neither" in back.stdout
    assert "scaled from" not in back.stdout and "step freeze" not in back.stdout
