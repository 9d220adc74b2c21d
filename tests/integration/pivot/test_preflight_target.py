"""Preflight on the target (docs/pivot.md, "Preflight"): the Strata that installed
its CRDs (their ``strata.dev/version`` annotation) — another major.minor refused,
nothing changed on either end; its Nodes — none Ready, running pods and schedulable
is a note (the controller will run on this host), a block with ``--controller
cluster``; a Ready, schedulable Node holding images is counted."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from strata import __version__
from strata.operator.crds import VERSION_ANNOTATION, all_crds
from strata.pivot import End, Options, Pivot, PivotRefused
from strata.pivot.digest import inventory
from tests.integration.pivot.conftest import TOPOLOGY, provisioned_state
from tests.support.kube_api import ControlPlane, wait_for

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def _pivot(
    state: Path, plane: ControlPlane, namespace: str, lines: list[str], **kw: object
) -> Pivot:
    options = Options(say=lines.append, **kw)  # type: ignore[arg-type]
    target = End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)
    return Pivot(End.sqlite(state, TOPOLOGY), target, options)


def test_crds_installed_by_another_strata_are_refused(
    fresh_plane: ControlPlane, tmp_path: Path
) -> None:
    with fresh_plane.client() as api:
        for crd in all_crds():
            crd["metadata"]["annotations"][VERSION_ANNOTATION] = "0.99.1"
            assert api.post(CRDS, json=crd).status_code == 201
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 3)
    before = (inventory(source, history=False), source.writer(), source.note("pivot"))
    lines: list[str] = []
    mover = _pivot(state, fresh_plane, "strata", lines)
    with pytest.raises(PivotRefused, match="Strata version mismatch") as refused:
        mover.run()
    mover.close()
    assert f"installed by Strata 0.99.1, this is Strata {__version__}" in str(refused.value)
    assert (inventory(source, history=False), source.writer(), source.note("pivot")) == before
    with fresh_plane.client() as api:
        assert api.get("/api/v1/namespaces/strata").status_code == 404


def test_the_nodes_that_can_run_the_controller(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    provisioned_state(state, 2)
    lines: list[str] = []
    _pivot(state, plane, namespace, lines, dry_run=True, controller="auto").run()
    text = "the target cannot run the controller (no Node can run it: the cluster has no Node)"
    assert any(text in x for x in lines), lines
    assert any(
        f"installed by Strata {__version__} (this: {__version__})" in x for x in lines
    ) or any("no CRD of Strata installed" in x for x in lines)
    with pytest.raises(PivotRefused, match="--controller cluster cannot start it"):
        _pivot(state, plane, namespace, [], controller="cluster").run()
    _ready_node(plane, "worker-1")
    _ready_node(plane, "cordoned", unschedulable=True)
    wait_for(lambda: _schedulable(plane) == ["worker-1"] or None, 60, "worker-1 schedulable")
    lines = []
    _pivot(state, plane, namespace, lines, dry_run=True, controller="cluster").run()
    text = "the target can run the controller: 1 of 2 Nodes Ready, running pods and schedulable (worker-1)"
    assert any(text in x for x in lines), lines
    with plane.client() as api:  # the shared plane: no Node left for the other tests
        for name in ("worker-1", "cordoned"):
            api.delete(f"/api/v1/nodes/{name}")


def _ready_node(plane: ControlPlane, name: str, unschedulable: bool = False) -> None:
    """A Node made Ready as a kubelet registers one: its status in the create (a PUT of
    the status afterwards races the node lifecycle controller's own writes: 409), with
    the pod sandbox's image its runtime holds (it has run pods: ``strata.pivot.nodes``)."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady"}
    ready |= {"lastHeartbeatTime": now, "lastTransitionTime": now}  # a kubelet's, just now
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    images = [{"names": ["registry.k8s.io/pause:3.2"], "sizeBytes": 299513}]
    status = {"conditions": [ready], "images": images}
    node |= {"spec": {"unschedulable": unschedulable}, "status": status}
    with plane.client() as api:
        made = api.post("/api/v1/nodes", json=node)
        assert made.status_code == 201, made.text


def _schedulable(plane: ControlPlane) -> list[str]:
    """What the move's preflight counts (``strata.pivot.resume.schedulable``): the node
    lifecycle controller taints a new Node not-ready:NoSchedule a moment after it is
    made, until its next pass (~5 s) sees it Ready — awaited, not raced."""
    from strata.pivot.resume import schedulable
    from strata.store import KubeStore

    api = KubeStore.from_kubeconfig(plane.admin_kubeconfig(), "default", TOPOLOGY).api
    return schedulable(api, "default")
