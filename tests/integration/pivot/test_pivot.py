"""``strata pivot`` against real kube-apiservers: a SQLite state of provisioned servers
moved into a cluster (digests equal on both sides), refused on a conflict with nothing
changed, a dry run that changes nothing, ``--back``, and cluster to cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from strata.boot.tokens import Grant, TokenSigner
from strata.operator.objects import topology_object
from strata.pivot import End
from strata.pivot.digest import inventory
from strata.pivot.ends import marker
from strata.pivot.journal import Journal
from strata.provisioning import Stage
from strata.store import RecordWrite, SQLiteStore, WriterBusy
from tests.integration.pivot.conftest import (
    TOPOLOGY,
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
    snapshot,
)
from tests.support.kube_api import ControlPlane

N = 200


def test_a_state_file_moves_into_a_cluster(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, N)
    before = inventory(source, history=False)
    started = time.monotonic()
    done = pivot_to_cluster(
        state,
        plane,
        namespace,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout, f"strata pivot of {N} servers: {took:.1f} s")
    target = kube_store(plane, namespace)
    after = inventory(target, history=False)
    assert after.nodes == before.nodes and len(after.nodes) == N
    assert after.log == before.log and after.clusters == before.clusters
    assert after.token_key == before.token_key
    signed = TokenSigner(source.token_key()).issue(
        Grant("n0001", 1, Stage.FINAL, int(time.time()) + 600)
    )
    assert TokenSigner(target.token_key()).check("n0001", signed, time.time()).attempt == 1
    assert target.cursors()["controller"] == target.events_since(0, 10**9)[-1].id
    journal = Journal.from_text(source.note("pivot") or "")
    assert journal.state == "done" and target.note("pivot") == source.note("pivot")
    holder = source.writer()
    assert holder is not None and holder[0] == marker(
        "moved", journal.move, End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    )
    assert target.writer() is None  # free for the target's controller
    try:
        source.acquire_writer("strata apply (pid 1 on elsewhere)", ttl=30)
        raise AssertionError("the moved source let a controller in")
    except WriterBusy as busy:
        assert "moved there by strata pivot" in str(busy)
    target.acquire_writer("strata apply (probe)", ttl=30)  # the target's is free
    target.release_writer("strata apply (probe)")
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "strata.cli.app",
            "status",
            "-f",
            str(tmp_path / "none.yaml"),
            "--state",
            str(state),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(status.stdout)["controller"].startswith(
        f"the controller in cluster {plane.url} namespace {namespace}"
    )


def test_a_conflict_is_refused_and_nothing_changes(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 5)
    done = pivot_to_cluster(
        state,
        plane,
        namespace,
        "--dry-run",
    )
    assert done.returncode == 0, done.stderr
    other = provisioned_state(tmp_path / "other.db", 1)
    assert other.records()
    # another topology of the same name already lives in the target
    made = pivot_to_cluster(
        tmp_path / "other.db",
        plane,
        namespace,
    )
    assert made.returncode == 0, made.stderr
    target = kube_store(plane, namespace)
    before = (snapshot(source), snapshot(target))
    refused = pivot_to_cluster(
        state,
        plane,
        namespace,
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "a conflict, not overwritten" in refused.stderr
    assert (snapshot(source), snapshot(target)) == before


def test_a_dry_run_changes_nothing(plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 10)
    before = snapshot(source)
    dry = pivot_to_cluster(
        state,
        plane,
        namespace,
        "--dry-run",
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "preflight ok" in dry.stdout and "plan 3. copy: 10 nodes" in dry.stdout
    assert "will be made" in dry.stdout and "nothing was written" in dry.stdout
    assert snapshot(source) == before
    with plane.client() as api:
        assert api.get(f"/api/v1/namespaces/{namespace}").status_code == 404


def test_back_after_a_move(plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 20)
    assert pivot_to_cluster(state, plane, namespace).returncode == 0
    target = kube_store(plane, namespace)
    target.write_records(
        [RecordWrite("n0001", 7, "joined", event=("state", {"to": "joined"}))]
    )  # driven there
    moved = inventory(target, history=False)
    back = run_pivot("--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    home = SQLiteStore(state)
    assert (
        home.records()["n0001"].state == "joined"
        and inventory(home, history=False).nodes == moved.nodes
    )
    assert home.writer() is None  # strata apply may drive it again
    holder = target.writer()
    assert holder is not None and holder[0].startswith(
        f"the controller in state file {state.resolve()}"
    )
    del source


def test_cluster_to_cluster(
    plane: ControlPlane, other_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 30)
    first = str(plane.admin_kubeconfig())
    assert pivot_to_cluster(state, plane, namespace).returncode == 0
    document = yaml.safe_load(Path("examples/lab/topology.yaml").read_text())
    document["credentials"][0]["password"] = {"secret": {"name": "bmc", "key": "password"}}
    topology = topology_object(document, namespace)
    with plane.client() as api:  # the desired state, applied in the first cluster
        path = f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies"
        made = api.post(path, json=topology)
        assert made.status_code == 201, made.text
        status = {"observedGeneration": 1, "servers": 30}
        assert (
            api.put(f"{path}/lab/status", json={**made.json(), "status": status}).status_code == 200
        )
    source = kube_store(plane, namespace)
    source.write_records(
        [
            RecordWrite(f"n{i:04d}", 7, "joining", event=("state", {"to": "joining"}))
            for i in range(30)
        ]
    )
    before = inventory(source, history=True)
    assert all(n.history for n in source.export_nodes())  # the cluster's own, carried on
    second = str(other_plane.admin_kubeconfig())
    args = (
        "--kubeconfig",
        first,
        "-n",
        namespace,
        "--to-kubeconfig",
        second,
        "--to-namespace",
        namespace,
    )
    refused = run_pivot(*args)  # its BMC password's Secret is missing
    assert (
        refused.returncode == 1
        and f"missing in the source: {namespace}/bmc/password" in refused.stderr
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "bmc"},
        "data": {"password": "aHVudGVyMg=="},
    }
    with plane.client() as api:
        assert api.post(f"/api/v1/namespaces/{namespace}/secrets", json=secret).status_code == 201
    done = run_pivot(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    target = kube_store(other_plane, namespace)
    after = inventory(target, history=True)
    assert (
        after.nodes == before.nodes
        and after.log == before.log
        and after.token_key == before.token_key
    )
    holder = source.writer()
    assert holder is not None and holder[0].startswith(
        f"the controller in cluster {other_plane.url}"
    )
    with other_plane.client() as api:
        copied = api.get(f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies/lab").json()
        moved_secret = api.get(f"/api/v1/namespaces/{namespace}/secrets/bmc").json()
    assert copied["spec"] == topology["spec"] and copied["status"]["servers"] == 30
    assert moved_secret["data"] == secret["data"]
    assert "aHVudGVyMg" not in done.stdout + done.stderr  # no value said
