"""`strata status`'s clusters table: per layer its distribution and version, endpoint,
whether its API answered (as the last run to joined saw it) and how many of its nodes
joined. The store comes from a real run of the lab example to joined against the
simulated fleet, whose clusters write to the event log as a layer's watch of Nodes does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from strata.cli.progress import STATE_STYLE
from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.provisioning import LogKind
from strata.store import SQLiteStore
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
FAST = FleetSettings(
    latency=(0.001, 0.002),
    boot_seconds=(0.02, 0.04),
    install_seconds=(0.02, 0.04),
    join_seconds=(0.02, 0.04),
)
ENDPOINT = "https://192.168.110.10:6443"
JOINING_LIMIT = 8.0  # s


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def lab(tmp_path: Path) -> Path:
    file = tmp_path / "topology.yaml"
    text = (ROOT / "examples/lab/topology.yaml").read_text()
    file.write_text(text.replace("staggerSeconds: 2", "staggerSeconds: 0"))
    return file


def apply(file: Path, target: State, never_joins: str | None = None) -> None:
    topology = load(file)
    store = SQLiteStore(file.parent / ".strata" / "strata.db")
    fleet = Fleet(topology, store, FAST)
    if never_joins is not None:
        fleet.machines[never_joins].never_joins = True
    options = ApplyOptions(
        poll_interval=0.01,
        target=target,
        # long enough for a simulated join (20-40 ms) on a loaded machine; the node that
        # never joins fails after it
        timeouts=ApplyOptions().timeouts.with_overrides({"joining": JOINING_LIMIT}),
    )
    try:
        Reconciler(build_plan(topology, *recorded(store)), store, fleet, options).run()
    finally:
        fleet.close()
        store.close()


@pytest.fixture(scope="module")
def joined_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab to joined: lab-cp-0 and lab-worker-0 joined, lab-worker-1 failed joining
    (after the joining limit: one run for the module)."""
    file = lab(tmp_path_factory.mktemp("joined"))
    apply(file, State.JOINED, never_joins="lab-worker-1")
    return file


@pytest.fixture
def joined(joined_once: Path, tmp_path: Path) -> Path:
    """A copy of that run's directory, for a test to change."""
    shutil.copytree(joined_once.parent, tmp_path / "lab")
    return tmp_path / "lab" / joined_once.name


def row(out: str, layer: str) -> list[str]:
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] == layer and len(cells) == 6:
            return cells
    raise AssertionError(f"no clusters row for {layer} in:\n{out}")


def test_a_run_to_joined_shows_the_layer_its_api_and_who_joined(joined: Path) -> None:
    code, out = run("status", "-f", str(joined))
    assert code == 0, out
    assert "clusters (API reachable: as the last run to joined saw it)" in out
    _, distribution, endpoint, api, control_plane, workers = row(out, "mgmt")
    assert (distribution, endpoint) == ("kubeadm 1.31.2", ENDPOINT)
    assert api.startswith("yes (at ") and len(api) == len("yes (at 12:34:56)")
    assert (control_plane, workers) == ("1/1", "1/2")

    code, out = run("status", "-f", str(joined), "-o", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["clusters_unavailable"] is None
    [cluster] = data["clusters"]
    assert {k: cluster[k] for k in ("layer", "distribution", "version", "endpoint")} == {
        "layer": "mgmt",
        "distribution": "kubeadm",
        "version": "1.31.2",
        "endpoint": ENDPOINT,
    }
    assert cluster["api"]["reachable"] is True and cluster["api"]["reason"] is None
    assert abs(cluster["api"]["at"] - time.time()) < 120
    assert cluster["control_plane"] == {"joined": 1, "total": 1}
    assert cluster["workers"] == {"joined": 1, "total": 2}


def test_the_newest_api_entry_wins_and_says_why_it_did_not_answer(joined: Path) -> None:
    store = SQLiteStore(joined.parent / ".strata" / "strata.db")
    reason = "ConnectError: [Errno 111] Connection refused"
    store.record("lab-cp-0", LogKind.API_UNREACHABLE, {"layer": "mgmt", "reason": reason})
    store.close()
    code, out = run("status", "-f", str(joined))
    assert code == 0, out
    api = row(out, "mgmt")[3]
    assert api.startswith(f"no: {reason} (at ") and api.endswith(")")
    cluster = json.loads(run("status", "-f", str(joined), "-o", "json")[1])["clusters"][0]
    assert cluster["api"]["reachable"] is False and cluster["api"]["reason"] == reason


def test_a_layer_no_run_watched_says_so(tmp_path: Path) -> None:
    """A run to provisioned starts no watch: nothing is known of the API, nobody joined."""
    file = lab(tmp_path)
    apply(file, State.PROVISIONED)
    code, out = run("status", "-f", str(file))
    assert code == 0, out
    assert row(out, "mgmt")[3:] == ["not watched", "0/1", "0/2"]
    cluster = json.loads(run("status", "-f", str(file), "-o", "json")[1])["clusters"][0]
    assert cluster["api"] == {"reachable": None, "reason": None, "at": None}
    assert cluster["control_plane"] == {"joined": 0, "total": 1}


def test_without_a_valid_topology_the_rest_of_status_still_shows(joined: Path) -> None:
    joined.write_text("not: [a topology")
    code, out = run("status", "-f", str(joined))
    assert code == 0, out
    assert "3 nodes; no controller running" in out and "by layer" in out
    said = "".join(out.split())  # the line may wrap at COLUMNS, within the path
    assert f"clusters:{joined}:YAMLsyntax:" in said and f"stratavalidate-f{joined}`)" in said
    data = json.loads(run("status", "-f", str(joined), "-o", "json")[1])
    assert data["clusters"] is None and str(joined) in data["clusters_unavailable"]
    assert data["counts"]["layer"]["mgmt"] == {"joined": 2, "failed": 1}


def test_the_help_says_api_reachable_is_not_a_live_probe() -> None:
    code, out = run("status", "--help")
    assert code == 0
    assert "not a live probe" in " ".join(out.split())


def test_off_a_terminal_no_clusters_line_is_wrapped(joined: Path) -> None:
    store = SQLiteStore(joined.parent / ".strata" / "strata.db")
    reason = "; ".join(["ConnectError: [Errno 111] Connection refused by 192.168.110.10:6443"] * 3)
    store.record("lab-cp-0", LogKind.API_UNREACHABLE, {"layer": "mgmt", "reason": reason})
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "strata.cli.app", "status", "-f", str(joined)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    [line] = [line for line in lines if line.lstrip("│ ").startswith("mgmt ") and ENDPOINT in line]
    assert ENDPOINT in line and f"no: {reason} (at " in line
    assert line.rstrip(" │").endswith("1/2")


def test_every_state_has_a_style() -> None:
    """A run to joined leaves `provisioned → joining` in the log: status shows it."""
    assert set(STATE_STYLE) == set(State)
