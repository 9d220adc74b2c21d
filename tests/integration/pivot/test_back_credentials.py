"""`--back` to the state file after a move with `--leave-credentials`: the Secrets the
Topology refers to were never made in the cluster, and they need not be — the state
file reads the BMC passwords from this machine's environment, as before the move."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.pivot.conftest import moved_with_lab_file, run_pivot
from tests.support.kube_api import ControlPlane


def test_the_way_back_after_leave_credentials_needs_no_secret_in_the_cluster(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATA_LAB_BMC_PASSWORD", "b27-pw")
    state, file = moved_with_lab_file(plane, namespace, tmp_path, "--leave-credentials")
    back = run_pivot("-f", str(file), "--state", str(state), "--back")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "they do not move to a state file" in back.stdout
    assert "b27-pw" not in back.stdout + back.stderr
    assert "now lives in state file" in back.stdout
