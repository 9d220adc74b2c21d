"""`--back` after a move that started a host controller (real API server, real `strata`
processes): the controller is never stopped while the way back may still be refused or
rolled back — a refused way back leaves it running, a dry run says it would stop it
(its pid, from its pid file) and changes nothing, a way back rolled back after it was
stopped starts it again; a way back that completes stops it under the freeze."""

from __future__ import annotations

import signal
from pathlib import Path

from strata.pivot.journal import Kept
from strata.pivot.resume import host_files, identity, live_holders, running
from strata.store import RecordWrite, SQLiteStore
from tests.integration.pivot.conftest import (
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
    snapshot,
)
from tests.integration.pivot.test_resume_controller import _controllers, _ends, _hosted
from tests.integration.pivot.test_resume_controller import (
    stop_controllers as stop_controllers,  # a fixture
)
from tests.support.kube_api import ControlPlane, wait_for


def _moved_with_host(plane: ControlPlane, namespace: str, tmp_path: Path) -> tuple[Path, Path, int]:
    """A state of 4 servers moved into ``namespace`` with a host controller, which holds
    its Leases: (state file, its pid file, its pid)."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    moved = pivot_to_cluster(state, plane, namespace, *_hosted(tmp_path, namespace))
    assert moved.returncode == 0, moved.stdout + moved.stderr
    pid_file, _ = host_files(*_ends(state, plane, namespace))
    pid = running(pid_file)
    assert pid is not None and _controllers(namespace) == [pid]
    _holding(plane, namespace)
    return state, pid_file, pid


def _holding(plane: ControlPlane, namespace: str) -> None:
    api = kube_store(plane, namespace).api
    wait_for(lambda: identity() in live_holders(api, namespace) or None, 60, "its Leases")


def _state_writer(state: Path) -> str | None:
    store = SQLiteStore(state)
    try:
        writer = store.writer()
    finally:
        store.close()
    return writer[0] if writer else None


def test_a_refused_way_back_leaves_the_host_controller_running(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """A server failed in the cluster: the way back's preflight refuses (no
    --allow-failed). The host controller still runs — the cluster is not left with
    no controller — and neither end changed."""
    state, pid_file, pid = _moved_with_host(plane, namespace, tmp_path)
    store = kube_store(plane, namespace)
    version = store.records()["n0000"].version
    store.write_records(
        [RecordWrite("n0000", version, "failed", event=("state", {"to": "failed"}))]
    )
    before = (snapshot(store), _state_writer(state))
    back = run_pivot("--state", str(state), "--back", "--wait-steady", "0")
    assert back.returncode != 0, back.stdout + back.stderr
    assert "failed servers" in back.stdout + back.stderr
    assert running(pid_file) == pid and _controllers(namespace) == [pid]
    _holding(plane, namespace)
    assert (snapshot(store), _state_writer(state)) == before


def test_a_dry_run_of_the_way_back_says_it_would_stop_the_host_controller(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    state, pid_file, pid = _moved_with_host(plane, namespace, tmp_path)
    store = kube_store(plane, namespace)
    before = (snapshot(store), _state_writer(state))
    dry = run_pivot("--state", str(state), "--back", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    said = dry.stdout + dry.stderr
    assert "would stop it" in said and f"pid {pid}, from its pid file {pid_file}" in said
    assert "scale it to 0" not in said
    assert "dry run: nothing was written" in said
    assert running(pid_file) == pid and _controllers(namespace) == [pid]
    assert (snapshot(store), _state_writer(state)) == before


def test_a_way_back_rolled_back_after_stopping_the_host_controller_starts_it_again(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """The way back SIGKILLed after its copy (the host controller stopped under its
    freeze), then --abort: rolled back, and the host controller runs again from the
    command its pid file keeps — the cluster in charge, the state file still moved."""
    state, pid_file, pid = _moved_with_host(plane, namespace, tmp_path)
    moved_marker = _state_writer(state)
    killed = run_pivot("--state", str(state), "--back", failpoint="after:copy")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert running(pid_file) is None and _controllers(namespace) == []
    aborted = run_pivot("--state", str(state), "--abort")
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    again = running(pid_file)
    assert again is not None and again != pid and _controllers(namespace) == [again]
    assert f"host controller the move here started (pid {pid}) stopped" in killed.stdout
    assert f"started again (pid {again})" in aborted.stdout
    _holding(plane, namespace)
    assert kube_store(plane, namespace).writer() is None  # unfrozen: its controller drives it
    assert _state_writer(state) == moved_marker  # never two writers: the file still moved


def test_a_way_back_that_completes_stops_the_host_controller_under_the_freeze(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    state, pid_file, pid = _moved_with_host(plane, namespace, tmp_path)
    back = run_pivot("--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    lines = back.stdout.splitlines()
    stopped = next(i for i, t in enumerate(lines) if f"(pid {pid}) stopped" in t)
    checked = max(i for i, t in enumerate(lines) if t.startswith("preflight "))
    frozen = next(i for i, t in enumerate(lines) if t.startswith("step freeze"))
    assert checked < stopped < frozen  # past preflight, under the freeze, before the copy
    assert running(pid_file) is None and _controllers(namespace) == []
    assert _state_writer(state) is None  # the state file in charge again


def test_a_way_back_rolled_back_restarts_the_host_controller_from_its_journal(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """Its pid file garbled meanwhile: the command the journal kept starts it again."""
    state, pid_file, _pid = _moved_with_host(plane, namespace, tmp_path)
    killed = run_pivot("--state", str(state), "--back", failpoint="after:copy")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    pid_file.write_text("garbage")
    aborted = run_pivot("--state", str(state), "--abort")
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    again = running(pid_file)
    assert again is not None and _controllers(namespace) == [again]
    assert f"started again (pid {again})" in aborted.stdout
    lines = aborted.stdout.splitlines()
    assert lines[0].startswith("rollback: failed: aborted by strata pivot --abort"), lines


def test_a_way_back_rolled_back_with_no_command_left_says_so_and_fails(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """Pid file gone and no command in the journal (one written before it kept it):
    rolled back, NO CONTROLLER said with the command to run, exit non-zero."""
    state, pid_file, _pid = _moved_with_host(plane, namespace, tmp_path)
    killed = run_pivot("--state", str(state), "--back", failpoint="after:copy")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    pid_file.unlink()
    for store in (SQLiteStore(state), kube_store(plane, namespace)):
        kept = Kept(store)
        journal = kept.read()
        assert journal is not None and journal.created.get("host_command")
        journal.created = {k: v for k, v in journal.created.items() if k != "host_command"}
        kept.write(journal)
    aborted = run_pivot("--state", str(state), "--abort")
    assert aborted.returncode != 0, aborted.stdout + aborted.stderr
    assert "NO CONTROLLER: the host controller the way back stopped was not started" in (
        aborted.stdout + aborted.stderr
    )
    assert "unfrozen, in charge as before" in aborted.stdout
    assert _controllers(namespace) == []
