"""The way back's writes into the state file are fenced too (``SQLiteMove.claim_fence``;
docs/pivot.md, "Fenced writes"): a `strata pivot --back` stopped (SIGSTOP) between
its confirmation and its first batch, woken after a second run finished the way back
and the host's controller (stood in for) wrote a record, refuses and writes nothing
into the file — not the cluster's older copy over the host's newer word."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from strata.store import NodeRecord, RecordWrite, SQLiteStore
from tests.integration.pivot.conftest import (
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
    started,
    stopped_unlocked,
    woken,
)
from tests.support.kube_api import ControlPlane


def _file(state: Path) -> tuple[dict[str, NodeRecord], int]:
    """The state file's records and how many events it holds."""
    store = SQLiteStore(state, read_only=True)
    try:
        return dict(store.records()), len(store.events_since(0, 10**6))
    finally:
        store.close()


def _stalled_way_back(
    state: Path, release: Path, plane: ControlPlane, namespace: str
) -> subprocess.Popen[str]:
    """60 servers moved into ``plane``, then `strata pivot --back` stopped between its
    confirmation and its first batch, with the state file unlocked."""
    provisioned_state(state, 60).close()
    moved = pivot_to_cluster(state, plane, namespace)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    stop = f"copy:nodes:0:confirmed={release}"
    first = started("--controller", "none", "--state", str(state), "--back", STRATA_PIVOT_STOP=stop)
    try:
        stopped_unlocked(first.pid, state)
    except BaseException:
        first.kill()
        raise
    return first


def test_a_way_back_stalled_before_its_batch_writes_nothing_once_woken(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    state, release = tmp_path / "strata.db", tmp_path / "release"
    first = _stalled_way_back(state, release, plane, namespace)
    try:
        second = run_pivot("--state", str(state), "--back")
        assert second.returncode == 0, second.stdout + second.stderr
        host = SQLiteStore(state)
        kept = host.records()["n0000"]
        host.write_records(
            [RecordWrite("n0000", kept.version, kept.state, reason="the host's newer word")]
        )
        host.close()
        before = _file(state)
        out = woken(first, release)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode != 0 and "the move was taken over" in out, out
    assert _file(state) == before  # the woken run wrote nothing into the file
    records, _ = before
    assert records["n0000"].reason == "the host's newer word"
    store = SQLiteStore(state, read_only=True)
    try:
        assert json.loads(store.note("pivot") or "{}")["state"] == "done"
    finally:
        store.close()


def test_a_way_back_stalled_then_aborted_writes_nothing_once_woken(
    plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """`--abort` takes the move too (a new epoch, the file claimed before its clear): the
    stalled run's claim no longer holds the file."""
    state, release = tmp_path / "strata.db", tmp_path / "release"
    first = _stalled_way_back(state, release, plane, namespace)
    try:
        aborted = run_pivot("--state", str(state), "--abort")
        assert aborted.returncode == 0, aborted.stdout + aborted.stderr
        before = _file(state)
        out = woken(first, release)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode != 0 and "the move was taken over" in out, out
    assert _file(state) == before  # nothing landed after the abort
