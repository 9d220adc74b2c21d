"""Resume starts the target's controller: ``--controller host`` a real `strata
controller` process on this host against the real API server (it takes its Leases; a
rerun of the resume after a SIGKILL starts no second one), ``--controller cluster``
the paused Deployment scaled to its ``strata.dev/replicas`` (the test API server runs
no pods: its spec is what is looked at), ``auto`` host on a cluster with no Node."""

from __future__ import annotations

import datetime
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from strata.pivot.ends import End
from strata.pivot.resume import DEPLOYMENT, REPLICAS, host_files, identity, live_holders, running
from tests.integration.operator_run.conftest import _object
from tests.integration.pivot.conftest import (
    TOPOLOGY,
    kube_store,
    pivot_to_cluster,
    provisioned_state,
)
from tests.support.kube_api import ControlPlane, free_port, wait_for
from tests.support.layer_state import LAB


def _hosted(tmp_path: Path, namespace: str) -> list[str]:
    health, boot = free_port(), free_port()
    return [
        "--controller", "host", "--listen", f"127.0.0.1:{boot}", "--url", f"http://127.0.0.1:{boot}",
        "--health-addr", f"127.0.0.1:{health}", "--artifacts", str(tmp_path / "mirror"),
        "--until", "provisioned",
    ]  # fmt: skip


def _controllers(namespace: str) -> list[int]:
    """Pids of `strata controller` processes of this host for ``namespace``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"controller" in line and namespace.encode() in line and identity().encode() in line:
            found.append(int(entry.name))
    return found


@pytest.fixture
def stop_controllers(namespace: str) -> Iterator[None]:
    """The host controllers a test started are stopped (SIGTERM, then SIGKILL)."""
    yield
    for pid in _controllers(namespace):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _controllers(namespace) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in _controllers(namespace):
        os.kill(pid, signal.SIGKILL)


def _ends(state: Path, plane: ControlPlane, namespace: str) -> tuple[End, End]:
    return End.sqlite(state, TOPOLOGY), End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)


def test_a_host_controller_starts_once_even_when_the_resume_is_run_again(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 10).close()
    flags = _hosted(tmp_path, namespace)
    killed = pivot_to_cluster(state, plane, namespace, *flags, failpoint="after:resume")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    pid_file, log_file = host_files(*_ends(state, plane, namespace))
    first = running(pid_file)
    assert first is not None and _controllers(namespace) == [first]
    api = kube_store(plane, namespace).api
    wait_for(lambda: identity() in live_holders(api, namespace) or None, 60, "its Leases")
    again = pivot_to_cluster(state, plane, namespace, *flags)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"controller: on this host already (pid {first}" in again.stdout
    assert _controllers(namespace) == [first]  # no second one
    journal = json.loads(kube_store(plane, namespace).note("pivot") or "{}")
    assert journal["state"] == "done"

    def shards_held() -> bool | None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        holders = [
            (lease.get("spec") or {}).get("holderIdentity")
            for lease in api.items(path)
            if lease["metadata"]["name"].startswith("strata-shard-")
        ]
        return (bool(holders) and all(h == identity() for h in holders)) or None

    wait_for(shards_held, 60, "the host controller to hold every shard Lease")
    # a Topology sent to it (another name: the moved records' plans are the fixture's
    # stand-ins, not a topology's): the host controller drives it, its status written
    topology = yaml.safe_load(LAB.read_text())
    topology["metadata"]["name"] = "other"
    path = f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies"
    with plane.client() as client:
        made = client.post(path, json=_object(topology, None))
        assert made.status_code == 201, made.text

        def status() -> dict[str, Any] | None:
            found = client.get(f"{path}/other").json().get("status") or {}
            return found if found.get("conditions") else None

        written = wait_for(status, 60, "the host controller to write the Topology's status")
    assert written["observedGeneration"] == 1, written
    assert "Valid" in {c["type"] for c in written["conditions"]}, written
    assert {oct(f.stat().st_mode & 0o777) for f in (log_file, pid_file)} == {"0o600"}
    assert "strata controller " in log_file.read_text()


def test_a_rerun_starts_the_host_controller_again_when_the_one_it_started_died(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """A host controller killed after the move: a rerun of the resume (the crash was
    before its journal entry) starts one again under the same identity."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    flags = _hosted(tmp_path, namespace)
    killed = pivot_to_cluster(state, plane, namespace, *flags, failpoint="after:resume")
    assert killed.returncode == -signal.SIGKILL
    pid_file, _ = host_files(*_ends(state, plane, namespace))
    first = running(pid_file)
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: running(pid_file) is None or None, 30, "the controller to be gone")
    again = pivot_to_cluster(state, plane, namespace, *flags)
    assert again.returncode == 0, again.stdout + again.stderr
    second = running(pid_file)
    assert second is not None and second != first and _controllers(namespace) == [second]


def test_a_dry_run_starts_nothing_and_a_cluster_without_nodes_can_run_no_pod(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    from strata.pivot.resume import schedulable

    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    dry = pivot_to_cluster(state, plane, namespace, "--controller", "auto", "--dry-run")
    assert dry.returncode == 0 and "controller:" not in dry.stdout
    assert _controllers(namespace) == []
    assert schedulable(kube_store(plane, namespace).api, namespace) == []  # auto: host


def test_cluster_scales_the_paused_deployment_when_a_node_can_run_it(
    fresh_plane: ControlPlane, tmp_path: Path
) -> None:
    """Nodes as the API keeps them (this API server runs no kubelet: the test writes
    them): Ready and untainted can run the pods; a taint, a cordon or NotReady cannot,
    unless the pods tolerate the taint. The move scales the install's paused Deployment
    and says the replica that holds a member Lease (written here: no pod runs)."""
    from strata.pivot.moving import Options
    from strata.pivot.resume import schedulable, start_controller

    namespace = "strata"
    taint = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    with fresh_plane.client() as api:
        for name in (namespace, "tolerating"):
            assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).is_success
        for name, spec, ready in (
            ("worker", {}, "True"),
            ("cp", {"taints": [taint]}, "True"),
            ("cordoned", {"unschedulable": True}, "True"),
            ("down", {}, "False"),
        ):
            _node(api, name, spec, ready)
        store = kube_store(fresh_plane, namespace)
        wait_for(  # the node lifecycle controller lifts the not-ready taint it was made with
            lambda: schedulable(store.api, namespace) == ["worker"] or None, 60, "worker Ready"
        )
        deployment = _paused_deployment("3")
        template = deployment["spec"]["template"]["spec"]
        template["tolerations"] = [{"key": taint["key"], "operator": "Exists"}]
        made = api.post("/apis/apps/v1/namespaces/tolerating/deployments", json=deployment)
        assert made.status_code == 201, made.text
        assert sorted(schedulable(store.api, "tolerating")) == ["cp", "worker"]
        _member_lease(api, namespace, "strata-controller-7f9c-x2")
    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    moved = pivot_to_cluster(state, fresh_plane, namespace, "--controller", "cluster")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    with fresh_plane.client() as api:
        found = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{DEPLOYMENT}").json()
    wanted = int(found["metadata"]["annotations"][REPLICAS])  # the install made it paused
    assert found["spec"]["replicas"] == wanted >= 1
    assert f"deployment/{DEPLOYMENT} in {namespace} scaled from 0 to {wanted}" in moved.stdout
    assert "controller: running in the cluster (strata-controller-7f9c-x2)" in moved.stdout
    lines: list[str] = []  # again, as auto: the Node can run it, the Deployment left
    source, target = _ends(state, fresh_plane, namespace)
    start_controller(Options(say=lines.append, controller="auto"), source, target, store)
    assert lines == [
        "controller: auto -> cluster (Nodes can run it: worker)",
        f"controller: deployment/{DEPLOYMENT} already runs {wanted} replica(s)",
        "controller: running in the cluster (strata-controller-7f9c-x2)",
    ]


def _node(api: Any, name: str, spec: dict[str, Any], ready: str) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {"type": "Ready", "status": ready, "lastHeartbeatTime": now}
    condition |= {"lastTransitionTime": now, "reason": "Test", "message": "written by the test"}
    node = {"metadata": {"name": name}, "spec": spec}
    made = api.post("/api/v1/nodes", json=node)
    assert made.status_code == 201, made.text
    images = [{"names": ["registry.k8s.io/pause:3.2"], "sizeBytes": 299513}]  # it runs pods
    body = made.json() | {"status": {"conditions": [condition], "images": images}}
    assert api.put(f"/api/v1/nodes/{name}/status", json=body).is_success


def _member_lease(api: Any, namespace: str, holder: str) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    spec = {"holderIdentity": holder, "leaseDurationSeconds": 600, "renewTime": now}
    lease = {"metadata": {"name": f"strata-member-{holder}"}, "spec": spec}
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
    assert api.post(path, json=lease).status_code == 201


def _paused_deployment(replicas: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": DEPLOYMENT}
    container = {"name": "controller", "image": "strata:latest", "args": ["controller"]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "annotations": {REPLICAS: replicas}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
