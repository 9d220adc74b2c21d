"""`strata apply` ends with the pivot: three emulated servers (sushy-tools' BMCs,
simulated machines) installed and joined in layer mgmt's cluster — a real control
plane and kubelet registrations from each machine's Ignition
(``tests/support/join_standin.py``) at the layer's loopback VIP — then, the layer
being marked ``pivot: true``, the management plane moves into that cluster.

The plan says so first; ``--no-pivot`` keeps the plane in the state file; without the
person's word on the BMC password read from the environment (``--copy-credentials``)
the move is held, said with the plan and at the end; a move that
fails (an in-cluster controller already holds a shard Lease in the target's
namespace) ends apply non-zero with the state file still in charge; the next apply
(nothing left to do) moves it: the state file's lease says where, the Servers are in
the cluster's namespace ``strata`` with the states they had, `strata status` names
the place."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from strata.lab.image import stand_in_kube_artifacts
from strata.lab.ports import free_port
from strata.plan import build_plan
from strata.store import KubeStore, SQLiteStore
from strata.store.server_crd import server_crd
from strata.topology import load
from tests.integration.controller.conftest import make_fleet  # noqa: F401 (a fixture)
from tests.integration.pivot.conftest import hold_shard_lease
from tests.support.join_standin import JoinStandIn
from tests.support.kube_api import wait_for

PLAN_LINE = (
    "pivot: after layer mgmt is joined, the management plane moves into its cluster "
    "(namespace strata)"
)


@pytest.fixture
def joined_fleet(make_fleet: Any, tmp_path: Path) -> Iterator[tuple[Any, JoinStandIn, str]]:  # noqa: F811
    """Three servers whose layer (marked pivot: true) is at a loopback VIP, each
    machine's Kubernetes started from its config; yields the fleet, the stand-in and
    the layer's endpoint URL."""
    fleet = make_fleet(3)
    document = yaml.safe_load(fleet.file.read_text())
    vip = f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    port = free_port(vip)
    document["layers"][0]["endpoint"] = {"vip": vip, "network": "bmc", "port": port}
    document["layers"][0]["pivot"] = True
    fleet.file.write_text(yaml.safe_dump(document))
    stand_in_kube_artifacts(fleet.file.parent / "artifacts", build_plan(load(fleet.file)))
    standin = JoinStandIn(tmp_path / "kube")
    fleet.machines.on_first_boot = lambda machine, config: standin.hand_over(config)
    try:
        yield fleet, standin, f"https://{vip}:{port}"
    finally:
        standin.stop()  # (the machines are make_fleet's to close)


def _controller_there(api: httpx.Client) -> None:
    """What an in-cluster controller installed in namespace ``strata``: the namespace
    and the Server CRD (established); its shard Lease is ``hold_shard_lease``'s."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "strata"}}
    assert api.post("/api/v1/namespaces", json=namespace).status_code == 201
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert api.post(crds, json=server_crd()).status_code == 201

    def established() -> bool | None:
        conditions = api.get(f"{crds}/servers.strata.dev").json()["status"].get("conditions") or []
        return (
            True
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
            else None
        )

    wait_for(established, 60, "the Server CRD established")


def _writer(fleet: Any) -> str | None:
    store = SQLiteStore(fleet.file.parent / ".strata" / "strata.db")
    try:
        writer = store.writer()
    finally:
        store.close()
    return None if writer is None else writer[0]


def test_apply_moves_the_plane_into_the_pivot_layer_once_it_is_joined(
    joined_fleet: tuple[Any, JoinStandIn, str],
) -> None:
    fleet, standin, url = joined_fleet
    kept = fleet.apply("--until", "joined", "--no-pivot")
    assert kept.exit_code == 0, kept.output
    assert "pivot: not at the end of this run (--no-pivot)" in kept.output
    assert PLAN_LINE not in kept.output and _writer(fleet) is None
    assert set(fleet.states().values()) == {"joined"}
    plane = standin.planes[0]
    with plane.client() as api:  # nothing was moved: no namespace strata
        assert api.get("/api/v1/namespaces/strata").status_code == 404
        _controller_there(api)
    hold_shard_lease(plane, "strata")  # type: ignore[arg-type]  # its replica's shard Lease

    unsaid = fleet.apply("--until", "joined")  # the BMC password is read from the env here
    assert unsaid.exit_code == 0, unsaid.output
    said = unsaid.output
    assert said.index(PLAN_LINE) < said.index("pivot held: credentials emulator")
    assert "pivot: not done, held for your word" in said and _writer(fleet) is None
    pivoting = ("--until", "joined", "--copy-credentials", "--controller", "none")
    refused = fleet.apply(*pivoting)
    assert refused.exit_code != 0, refused.output
    assert PLAN_LINE in refused.output and "pivot failed" in refused.output
    assert "is still in charge" in refused.output
    assert _writer(fleet) is None  # the state file in charge, nothing held

    with plane.client() as api:
        path = "/apis/coordination.k8s.io/v1/namespaces/strata/leases/strata-shard-0"
        assert api.delete(path).status_code == 200
    moved = fleet.apply(*pivoting)
    assert moved.exit_code == 0, moved.output
    output = moved.output
    assert output.index(PLAN_LINE) < output.index("pivot: layer mgmt is joined")
    place = f"cluster {url} namespace strata"
    assert (_writer(fleet) or "").startswith(f"the controller in {place} (moved there")
    kubeconfig = fleet.file.parent / ".strata" / "mgmt.kubeconfig"
    target = KubeStore.from_kubeconfig(kubeconfig, "strata", "emulated")
    try:
        there = {s.name: s.state for s in target.summaries()}
    finally:
        target.close()
    assert there == {s.name: "joined" for s in fleet.systems}
    status = fleet.strata("status", "-f", str(fleet.file))
    assert status.exit_code == 0 and place in status.output, status.output
    again = fleet.apply(*pivoting)  # the plane lives there now
    assert again.exit_code == 2 and "moved there by strata pivot" in again.output
