"""One run of a move at a time (``strata.pivot.lease``), with two real `strata pivot`
processes: while the first is alive (slowed in its copy) a second is refused, having
seen the first renew its lease, and the first completes; when the first is stalled
(SIGSTOP) its lease runs out, the second takes the move and completes it, and the
first, woken, finds the move taken over and stops without undoing anything — the
target equal to the source. Stopped exactly between a batch's reads and its
confirmation, or between its confirmation and its writes, the first run writes
nothing into the target once woken (``strata.pivot.fencing``), not even over a Server
changed after the second run's move (the controller's write, stood in for here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from strata.pivot.digest import inventory
from tests.integration.pivot.conftest import (
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    started,
    stopped_unlocked,
    to_cluster,
    unlocked,
    versions,
    woken,
)
from tests.support.kube_api import ControlPlane, wait_for

SLOW = "copy:nodes:0=12"  # seconds the first run sleeps after its first batch of nodes


def _started(
    state: Path, plane: ControlPlane, namespace: str, **more: str
) -> subprocess.Popen[str]:
    args = (*to_cluster(state, plane, namespace), "--controller", "none")
    return started(*args, **{"STRATA_PIVOT_PAUSE": SLOW, **more})


def _copying(state: Path) -> bool | None:
    """The first run is in its copy (its install journaled, its lease held)."""
    from strata.store import SQLiteStore

    store = SQLiteStore(state, read_only=True)
    try:
        note = json.loads(store.note("pivot") or "{}")
    finally:
        store.close()
    return True if "install" in note.get("steps", {}) and note.get("lease_until") else None


def _ended(process: subprocess.Popen[str]) -> str:
    """What ``process`` printed, killed if it was still running."""
    if process.poll() is None:
        process.kill()
    return process.communicate(timeout=60)[0]


def _stall(pid: int, state: Path) -> None:
    """SIGSTOP ``pid`` outside a write to the state file: one stopped inside keeps its
    lock and every other writer waits (``StateLocked``, tests/unit/store/test_state_lock.py)."""
    for _ in range(100):
        os.kill(pid, signal.SIGSTOP)
        if unlocked(state):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} held the state file's write lock at each of 100 stops")


def test_a_second_run_is_refused_while_the_first_is_alive(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 120)
    first = _started(state, plane, namespace)
    try:
        wait_for(lambda: _copying(state), 120, "the first run copying")
        second = pivot_to_cluster(state, plane, namespace, "--controller", "none")
        said = second.stdout + second.stderr
        refused = "is being run by strata pivot pid" in said and "its lease renewed" in said
        if second.returncode == 0 or not refused:
            raise AssertionError(f"the second run:\n{said}\nthe first run:\n{_ended(first)}")
        out, _ = first.communicate(timeout=300)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode == 0, out
    assert json.loads(source.note("pivot") or "{}")["state"] == "done"
    target = kube_store(plane, namespace)
    assert inventory(target, history=False) == inventory(source, history=False)


def test_a_stalled_run_loses_the_move_to_a_second_which_completes_it(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 120)
    first = _started(state, plane, namespace)
    try:
        wait_for(lambda: _copying(state), 120, "the first run copying")
        _stall(first.pid, state)  # its heartbeat stops too
        second = pivot_to_cluster(state, plane, namespace, "--controller", "none")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "s to see it alive" in second.stdout  # it waited the lease out
        os.kill(first.pid, signal.SIGCONT)
        out, _ = first.communicate(timeout=120)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode != 0 and "the move was taken over" in out, out
    assert json.loads(source.note("pivot") or "{}")["state"] == "done"
    target = kube_store(plane, namespace)
    assert inventory(target, history=False) == inventory(source, history=False)
    assert target.writer() is None  # resumed: free for its controller, not undone


@pytest.mark.parametrize("instant", ["copy:nodes:0:read", "copy:nodes:0:confirmed"])
def test_a_run_stalled_in_a_fenced_batch_writes_nothing_once_woken(
    plane: ControlPlane, namespace: str, tmp_path: Path, instant: str
) -> None:
    state, release = tmp_path / "strata.db", tmp_path / "release"
    source = provisioned_state(state, 120)
    first = _started(state, plane, namespace, STRATA_PIVOT_STOP=f"{instant}={release}")
    try:
        stopped_unlocked(first.pid, state)
        second = pivot_to_cluster(state, plane, namespace, "--controller", "none")
        assert second.returncode == 0, second.stdout + second.stderr
        target = kube_store(plane, namespace)
        server = target.servers.get("n0000")  # in the first run's first batch
        assert server is not None
        status = {**server["status"], "reason": "the controller's newer word"}
        newer = target.api.replace(
            target.servers.path("n0000", "/status"), {**server, "status": status}
        )
        assert newer is not None
        before = versions(target)
        out = woken(first, release)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode != 0 and "the move was taken over" in out, out
    assert versions(target) == before  # the woken run wrote nothing there
    kept = target.servers.get("n0000")
    assert kept is not None and kept["status"] == newer["status"]
    assert json.loads(source.note("pivot") or "{}")["state"] == "done"
    assert target.writer() is None
