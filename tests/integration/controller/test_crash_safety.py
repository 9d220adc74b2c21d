"""Kill the controller (SIGKILL) at random moments while it provisions 50 emulated nodes,
restart it each time: every node reaches provisioned, no node gets a power action
after its OS was installed, and none is powered on twice for one install.

The controller runs as its own process (`strata apply --no-serve`); the emulated BMCs,
the simulated machines and the boot service stay up in this process, sharing the
state file, as the boot service and the BMCs of a real datacenter outlive a
controller crash.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from strata.boot import AssetIndex, BootContent, BootService, TokenSigner
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.boot_server import RunningServer

ROOT = Path(__file__).resolve().parents[3]
NODES = 50
KILLS = 8


def test_sigkill_at_random_moments_loses_nothing_and_repeats_no_power_on(
    make_fleet: Any, tmp_path: Path
) -> None:
    fleet = make_fleet(NODES, per_rack=10)
    fleet.machines.install_seconds = 1.0
    state = tmp_path / "state.db"
    store = SQLiteStore(state)
    content = BootContent(
        build_plan(load(fleet.file)),
        f"http://127.0.0.1:{fleet.port}",
        TokenSigner(store.token_key()),
    )
    boot = RunningServer(
        BootService(content, store, AssetIndex(tmp_path / "artifacts")).app, fleet.port
    )
    rng = random.Random(int(os.environ.get("STRATA_CRASH_SEED", "5")))
    log = tmp_path / "controller.log"
    outputs: list[str] = []
    try:
        while len(outputs) < KILLS:  # each run is killed mid-way, unless it finished
            out = tmp_path / f"run{len(outputs)}.jsonl"
            controller = _controller(fleet.file, state, log, out)
            code = _kill_mid_way(controller, out, rng)
            outputs.append(out.read_text())
            if code == 0:
                break
        if code != 0:  # the last run is left to finish
            controller = _controller(fleet.file, state, log, tmp_path / "last.jsonl")
            code = controller.wait(120)
            outputs.append((tmp_path / "last.jsonl").read_text())
    finally:
        boot.stop()
    assert code == 0, _unfinished(store, fleet) + log.read_text()[-3000:]
    kills = len(outputs) - 1
    assert kills >= 4, f"the apply finished after only {kills} kills: kill sooner"
    print(f"{kills} kills; {_moments(outputs)}")
    records = store.records()
    assert {r.state for r in records.values()} == {"provisioned"}, {
        n: (r.state, r.reason) for n, r in records.items() if r.state != "provisioned"
    }
    transitions = [t for out in outputs for t in _transitions(out)]
    assert len({t["node"] for t in transitions if t["to"] == "provisioning"}) == NODES
    for machine in fleet.machines.machines.values():
        assert machine.errors == [], machine
        assert machine.power_ons_at_install is not None, machine
        assert machine.power_ons == machine.power_ons_at_install, machine  # none after install
        assert machine.power_ons == 1, machine  # nor a second one for the same install


def _kill_mid_way(controller: subprocess.Popen[str], out: Path, rng: random.Random) -> int | None:
    """SIGKILL ``controller`` after a random 1-2.5 s, or as soon as it has provisioned
    a sixth of the nodes in this run, whichever comes first: the kills land at random
    moments, and however fast the machine, the apply cannot finish before the fourth.
    Returns the exit code if the controller finished first, None if it was killed."""
    deadline = time.monotonic() + rng.uniform(1.0, 2.5)
    while controller.poll() is None and time.monotonic() < deadline:
        written = out.read_text()
        done = _transitions(written[: written.rfind("\n") + 1])  # whole lines only
        provisioned = [t for t in done if t["to"] == "provisioned" and t["event"] != "loaded"]
        if len(provisioned) >= NODES // 6:  # by this run, not found so when it loaded
            break
        time.sleep(0.01)
    if controller.poll() is not None:
        return controller.returncode
    controller.send_signal(signal.SIGKILL)
    controller.wait()
    return None


def _transitions(out: str) -> list[dict[str, Any]]:
    """The state changes a run printed (`-o json`: one JSON object per line)."""
    return [json.loads(line) for line in out.splitlines() if line]


def _controller(file: Path, state: Path, log: Path, out: Path) -> subprocess.Popen[str]:
    """`strata apply` in its own process; its JSON lines go to ``out``, the rest to ``log``."""
    with log.open("a") as stderr, out.open("w") as stdout:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "strata.cli.app", "apply", "-f", str(file), "--no-serve"),
                *("--state", str(state), "-o", "json", "--until", "provisioned"),
                *("--timeout", "provisioning=30", "--timeout", "booting=30"),
                *("--timeout", "installing=30"),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=stdout,
            stderr=stderr,
            text=True,
        )


def _moments(outputs: list[str]) -> str:
    """What the controller was doing when it was killed: its states' counts then."""
    moments = []
    for out in outputs[:-1]:
        states: dict[str, str] = {}
        for change in _transitions(out):
            states[change["node"]] = change["to"]
        counts: dict[str, int] = {}
        for s in states.values():
            counts[s] = counts.get(s, 0) + 1
        moments.append(",".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return " | ".join(moments)


def _unfinished(store: SQLiteStore, fleet: Any) -> str:
    """Each node not provisioned, its machine and its event log: what a failure needs."""
    lines = []
    for name, record in store.records().items():
        if record.state != "provisioned":
            lines.append(
                f"{name} {record.state} {dict(record.marks)} {fleet.machines.by_name(name)}"
            )
            lines.extend(f"  {e.id} {e.kind} {dict(e.detail)}" for e in store.events(name))
    return "\n".join(lines) + "\n"
