"""A real run first: `strata apply` drives sushy-tools' emulated BMCs and simulated
machines to provisioned (tests/integration/controller's fleet), then `strata pivot -f`
moves its state file into a cluster: every record, attempt, log entry and secret equal,
and `strata apply` on the moved state file is refused, naming where its plane went."""

from __future__ import annotations

from typing import Any

from strata.pivot.digest import inventory
from strata.store import KubeStore, SQLiteStore
from tests.integration.controller.conftest import make_fleet  # noqa: F401 (a fixture)
from tests.support.kube_api import ControlPlane


def test_a_state_file_strata_apply_made_moves_into_a_cluster(
    make_fleet: Any,  # noqa: F811
    plane: ControlPlane,
    namespace: str,
) -> None:
    fleet = make_fleet(8, per_rack=4)
    assert fleet.apply().exit_code == 0
    state = fleet.file.parent / ".strata" / "strata.db"
    before = inventory(SQLiteStore(state), history=False)
    moved = fleet.strata(
        "pivot",
        "-f",
        str(fleet.file),
        "--to-kubeconfig",
        str(plane.admin_kubeconfig()),
        "--to-namespace",
        namespace,
        "--copy-credentials",
        "--controller",
        "none",
    )
    assert moved.exit_code == 0, moved.output
    target = KubeStore.from_kubeconfig(plane.admin_kubeconfig(), namespace, "emulated")
    after = inventory(target, history=False)
    assert after.nodes == before.nodes and after.log == before.log and len(after.nodes) == 8
    assert after.token_key == before.token_key and after.clusters == before.clusters
    refused = fleet.apply()
    assert refused.exit_code == 2 and "moved there by strata pivot" in refused.output
