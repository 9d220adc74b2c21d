"""A move SIGKILLed at every step boundary and in the middle of the copy (the
process kills itself at a failpoint, ``strata.pivot.failpoints``), then run again:
it completes, the digests are equal, and while it was dead no controller could take
either end's writer lease; the leases sampled all along never show two ends in
charge at once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from strata.pivot.digest import inventory
from strata.store import KubeStoreError, WriterBusy
from tests.integration.pivot.conftest import (
    LeaseWatch,
    kube_store,
    provisioned_state,
    run_pivot,
    to_cluster,
)
from tests.support.kube_api import ControlPlane

N = 120  # three batches of nodes, three of log entries
POINTS = (
    "before:freeze",
    "after:freeze",
    "journaled:freeze",
    "after:install",
    "journaled:install",
    "copy:secrets",
    "copy:nodes:0",
    "copy:nodes:1",
    "copy:log:0",
    "copy:log:1",
    "copy:cursors",
    "after:copy",
    "journaled:copy",
    "after:verify",
    "journaled:verify",
    "switch:target-taken",
    "after:switch",
    "journaled:switch",
    "after:resume",
)
FROZEN_FROM = POINTS.index("after:freeze")
TARGET_HELD = range(POINTS.index("after:install"), POINTS.index("after:resume"))


@pytest.mark.parametrize("point", POINTS)
def test_a_move_killed_anywhere_completes_when_run_again(
    plane: ControlPlane, namespace: str, tmp_path: Path, point: str
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, N)
    before = inventory(source, history=False)
    target = kube_store(plane, namespace)
    args = to_cluster(state, plane, namespace)
    with LeaseWatch(source, target) as watch:
        killed = run_pivot(*args, failpoint=point)
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        where = POINTS.index(point)
        if where >= FROZEN_FROM:  # a controller starting now is refused
            with pytest.raises(WriterBusy, match="strata pivot"):
                source.acquire_writer("strata apply (probe)", ttl=30)
        if where in TARGET_HELD:
            with pytest.raises(WriterBusy, match="strata pivot"):
                target.acquire_writer("strata apply (probe)", ttl=30)
        again = run_pivot(*args)
        assert again.returncode == 0, again.stdout + again.stderr
    after = inventory(target, history=False)
    assert after.nodes == before.nodes and after.log == before.log
    assert after.clusters == before.clusters and after.token_key == before.token_key
    assert watch.two_writers() == [] and len(watch.samples) > 10
    moved = source.writer()
    assert moved is not None and moved[0].startswith("the controller in cluster")
    try:
        assert target.writer() is None
    except KubeStoreError:
        pytest.fail("the target is not reachable after the move")


def test_an_unfinished_move_is_aborted(plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 60)
    before = inventory(source, history=False)
    args = to_cluster(state, plane, namespace)
    assert run_pivot(*args, failpoint="copy:nodes:0").returncode == -signal.SIGKILL
    aborted = run_pivot("--state", str(state), "--abort")
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    assert "rollback: source state file" in aborted.stdout
    assert source.writer() is None and inventory(source, history=False) == before
    with plane.client() as api:  # the namespace the move made: deleted
        found = api.get(f"/api/v1/namespaces/{namespace}")
        assert found.status_code == 404 or found.json()["status"]["phase"] == "Terminating"
    again = run_pivot("--state", str(state), "--abort")
    assert again.returncode == 1 and "no unfinished move" in again.stderr


@pytest.mark.parametrize(
    "point", ["journaled:freeze", "journaled:install", "copy:nodes:0", "after:switch"]
)
def test_the_way_back_killed_anywhere_completes_when_run_again(
    plane: ControlPlane, namespace: str, tmp_path: Path, point: str
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 60)
    args = to_cluster(state, plane, namespace)
    assert run_pivot(*args).returncode == 0
    cluster = kube_store(plane, namespace)
    moved = inventory(cluster, history=False)
    killed = run_pivot("--state", str(state), "--back", failpoint=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    again = run_pivot("--state", str(state), "--back")
    assert again.returncode == 0, again.stdout + again.stderr
    home = inventory(source, history=False)
    assert home.nodes == moved.nodes and home.log == moved.log and home.token_key == moved.token_key
    assert source.writer() is None
    holder = cluster.writer()
    assert holder is not None and holder[0].startswith("the controller in state file")
