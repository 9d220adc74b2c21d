"""`strata pivot --to mgmt` against the layer's own cluster: a real control plane
(etcd, kube-apiserver, kube-controller-manager: ``strata.lab.control_plane``) running
on the PKI the state keeps for the layer, at the layer's endpoint (a loopback VIP), as
the lab's stand-in and a datacenter's first control-plane node run it. The move reaches
it with nothing but the kubeconfig minted from that CA: every Server copied with its
state, the state file saying where its plane lives, `strata status` naming it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.lab.control_plane import ControlPlane, ControlPlaneSpec, start_control_plane
from strata.lab.ports import free_port
from strata.store import KubeStore, SQLiteStore
from tests.integration.pivot.conftest import run_pivot
from tests.support.kube_api import assets_dir, etcd_binary
from tests.support.layer_state import lab_file, layer_state

NODES = ("lab-cp-0", "lab-worker-0", "lab-worker-1")


@pytest.fixture
def layer_plane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A topology (the lab's, at a loopback VIP), its state with the three nodes joined
    and layer mgmt's PKI, and a control plane on that PKI at the VIP; yields the
    topology file and the endpoint's URL."""
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets_dir()))  # where strata.lab looks
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", "lab-secret")  # FILE's BMC credential
    etcd_binary()
    vip = f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    port = free_port(vip)
    file = lab_file(tmp_path, {"vip": vip, "network": "bmc", "port": port})
    material = layer_state(file.parent / ".strata" / "strata.db", file, "joined")
    assert material is not None
    spec = ControlPlaneSpec(tmp_path / "plane", material.pki, bind=vip, port=port)
    plane: ControlPlane = start_control_plane(spec)
    try:
        yield file, plane.url
    finally:
        plane.stop()


def test_pivot_to_layer_moves_the_state_into_the_layers_cluster(
    layer_plane: tuple[Path, str],
) -> None:
    file, url = layer_plane
    state = file.parent / ".strata" / "strata.db"
    moved = run_pivot("-f", str(file), "--to", "mgmt", "--copy-credentials")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    kubeconfig = file.parent / ".strata" / "mgmt.kubeconfig"
    assert f"layer mgmt's kubeconfig: {kubeconfig}" in moved.stdout
    assert "PRIVATE KEY" not in moved.stdout + moved.stderr
    place = f"cluster {url} namespace strata"
    assert f"now lives in {place}" in moved.stdout
    store = SQLiteStore(state)
    writer = store.writer()
    store.close()
    assert writer is not None and writer[0].startswith(f"the controller in {place} (moved there")
    target = KubeStore.from_kubeconfig(kubeconfig, "strata", "lab")
    try:
        assert {s.name: s.state for s in target.summaries()} == dict.fromkeys(NODES, "joined")
        assert target.writer() is None  # released for its controller
    finally:
        target.close()
    env = {**os.environ, "COLUMNS": "200"}
    status = subprocess.run(
        [sys.executable, "-m", "strata.cli.app", "status", "-f", str(file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert place in status.stdout, status.stdout


def test_apply_says_a_move_past_its_switch_is_finished_by_running_it_again(
    layer_plane: tuple[Path, str],
) -> None:
    """A failure after the switch (the commit point) is not rolled back: apply's pivot
    must not say the state file is still in charge, but how to finish the move."""
    from strata.cli.apply_pivot import AfterApply, pivot_after_apply
    from strata.errors import StrataError
    from strata.pivot import failpoints
    from strata.plan import build_plan
    from strata.topology import load

    file, url = layer_plane
    state = file.parent / ".strata" / "strata.db"

    def fails() -> None:
        raise StrataError("the API server went away in the resume")

    failpoints.ACTIONS["before:resume"] = fails
    plan = build_plan(load(file))
    said: list[str] = []
    code = pivot_after_apply(file, state, plan, AfterApply("none", (), "copy"), said.append)
    assert code != 0
    text = "\n".join(said)
    assert "still in charge" not in text, text
    assert "the move had switched: the plane lives in layer mgmt's cluster" in text, text
    failpoints.ACTIONS.clear()
    again = run_pivot("-f", str(file), "--to", "mgmt", "--copy-credentials", "--controller", "none")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"now lives in cluster {url} namespace strata" in again.stdout
