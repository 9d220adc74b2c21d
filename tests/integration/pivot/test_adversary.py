"""The session's new pivot parts tried as a user and an adversary would: `--back` after a
move that started a host controller, secrets in what a move writes and says, refusals
that must change nothing on either end (real API server, real `strata` processes)."""

from __future__ import annotations

import signal
from pathlib import Path

from strata.pivot.resume import host_files, identity, live_holders, running
from tests.integration.pivot.conftest import (
    kube_store,
    pivot_to_cluster,
    provisioned_state,
    run_pivot,
)
from tests.integration.pivot.test_back_controller import _moved_with_host
from tests.integration.pivot.test_resume_controller import _controllers, _ends, _hosted
from tests.integration.pivot.test_resume_controller import (
    stop_controllers as stop_controllers,  # a fixture
)
from tests.support.kube_api import ControlPlane


def test_back_stops_the_host_controller_the_move_started(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """`--controller host` (auto's choice on a cluster that runs no pods) then `--back`:
    the host controller is stopped — not left driving the cluster's copy while the state
    file is in charge again — and the way back is not refused for it."""
    state, pid_file, first = _moved_with_host(plane, namespace, tmp_path)
    back = run_pivot("--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"host controller the move here started (pid {first}) stopped" in back.stdout
    assert _controllers(namespace) == [] and running(pid_file) is None
    api = kube_store(plane, namespace).api
    assert identity() not in live_holders(api, namespace)


def test_a_crash_between_starting_the_host_controller_and_its_pid_file_starts_no_second(
    plane: ControlPlane, namespace: str, tmp_path: Path, stop_controllers: None
) -> None:
    """SIGKILL once the host controller is spawned, before its pid file is written: the
    rerun must not start a second `strata controller` under the same identity (both
    would take the same shard Leases as theirs: two writers)."""
    state = tmp_path / "strata.db"
    provisioned_state(state, 4).close()
    flags = _hosted(tmp_path, namespace)
    killed = pivot_to_cluster(state, plane, namespace, *flags, failpoint="resume:spawned")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert len(_controllers(namespace)) == 1
    again = pivot_to_cluster(state, plane, namespace, *flags)
    assert again.returncode == 0, again.stdout + again.stderr
    pid_file, _ = host_files(*_ends(state, plane, namespace))
    assert _controllers(namespace) == [running(pid_file)]
