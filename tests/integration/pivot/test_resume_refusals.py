"""A move run again after a crash still refuses what would make two writers: an
in-cluster controller started in the target's namespace while the move was dead
(it would drive the copied state before the switch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.pivot import End, Options, Pivot, PivotRefused, failpoints
from strata.pivot.ends import marker
from strata.pivot.journal import Journal
from tests.integration.pivot.conftest import TOPOLOGY, hold_shard_lease, provisioned_state
from tests.support.kube_api import ControlPlane


class _Crash(BaseException):
    """Stands for a SIGKILL: nothing after it runs."""


def test_a_rerun_refuses_a_controller_started_in_the_target_meanwhile(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "strata.db"
    source = provisioned_state(state, 3)
    ends = End.sqlite(state, TOPOLOGY), End.kube(plane.admin_kubeconfig(), namespace, TOPOLOGY)

    def crash() -> None:
        raise _Crash

    def dead(self: Pivot, reason: str) -> None:
        raise _Crash

    failpoints.ACTIONS["after:copy"] = crash
    with monkeypatch.context() as patched:
        patched.setattr(Pivot, "rollback", dead)
        with pytest.raises(_Crash):
            Pivot(*ends, Options(say=lambda line: None)).run()
    failpoints.ACTIONS.clear()
    hold_shard_lease(plane, namespace)
    mover = Pivot(*ends, Options(say=lambda line: None))
    with pytest.raises(PivotRefused, match="in-cluster controller runs in the target's namespace"):
        mover.run()
    mover.close()
    journal = Journal.from_text(source.note("pivot") or "")
    assert journal.state == "moving" and "switch" not in journal.steps
    assert source.writer()[0] == marker("frozen", journal.move, ends[1])  # type: ignore[index]
