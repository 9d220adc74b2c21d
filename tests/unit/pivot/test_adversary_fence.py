"""A frozen or moved state file refuses `strata serve --provision` (a provisioning
attempt begun: the controller's side of the boot service, which a move's freeze did not
cover), and `strata serve` on a moved state starts no boot service nor dnsmasq beside
the new plane's: refused before it binds or writes anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.serve import serve
from strata.pivot.ends import End, marker
from strata.store import SQLiteStore
from strata.store.fence import WritesRefused

ROOT = Path(__file__).resolve().parents[3]
TARGET = End.kube(Path("/nowhere/mgmt.kubeconfig"), "strata", "lab")


def _state(path: Path, role: str) -> SQLiteStore:
    store = SQLiteStore(path)
    store.begin_attempt("n1", lifetime=60)
    store.acquire_writer(marker(role, "0123abcd", TARGET), ttl=3600)
    return store


@pytest.mark.parametrize("role", ["frozen", "moved"])
def test_no_attempt_is_begun_in_a_state_a_move_holds(tmp_path: Path, role: str) -> None:
    store = _state(tmp_path / "strata.db", role)
    before = store.attempt("n1")
    with pytest.raises(WritesRefused):
        store.begin_attempt("n1", lifetime=60)
    assert store.attempt("n1") == before


def test_serve_on_a_moved_state_refuses_to_start(tmp_path: Path) -> None:
    file = tmp_path / "topology.yaml"
    shutil.copy(ROOT / "examples/lab/topology.yaml", file)
    state = tmp_path / ".strata" / "strata.db"
    state.parent.mkdir()
    store = _state(state, "moved")
    before = store.attempt("n1")
    result = CliRunner().invoke(
        serve, ["-f", str(file), "--state", str(state), "--listen", "127.0.0.1:1"]
    )
    assert result.exit_code == 2, result.output
    assert "moved there by strata pivot 0123abcd" in result.output
    assert store.attempt("n1") == before


def test_a_host_controllers_log_and_pid_file_already_there_become_owner_only(
    tmp_path: Path,
) -> None:
    """A log or pid file left world-readable (an older Strata's, made by hand) is not
    written into as it is: the log names the kubeconfig and says what the controller does."""
    from strata.pivot.resume import _spawn, _write_pid

    log, pid = tmp_path / "controller.log", tmp_path / "controller.pid"
    for path in (log, pid.with_suffix(".pid.new")):
        path.write_text("")
        path.chmod(0o644)
    _spawn(["true"], log).wait(10)
    _write_pid(pid, 1, ["true"])
    assert {oct(p.stat().st_mode & 0o777) for p in (log, pid)} == {"0o600"}
