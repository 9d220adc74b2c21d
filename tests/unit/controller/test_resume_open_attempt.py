"""RESUME says a node found resting at provisioned ends its attempt (a stop
between its record and its attempt's end). With the run's target joined the plan's
next event (join) is fed instead, the resume action never runs, and the attempt stays
open after the node joined: the boot service keeps serving the installer to that
machine (``boot/service.py``: an open attempt gets the install script), so a network
boot of a joined node reinstalls it."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.bmc import PowerState
from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan, to_jsonable
from strata.store import RecordWrite, SQLiteStore

FAST = FleetSettings(
    latency=(0.001, 0.003), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


@pytest.mark.parametrize("target", [State.PROVISIONED, State.JOINED])
def test_a_provisioned_node_resumed_with_its_attempt_open_has_it_ended(
    tmp_path: Path, target: State
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    topo = generated_topology(1, 1)
    plans = {p.name: p for p in build_plan(topo).nodes}
    attempt = store.begin_attempt("k1-n1", 3600).number
    marks = {"attempt": attempt, "prepared": attempt, "powered": attempt}
    store.write_records(
        [
            RecordWrite(n, 0, "provisioned", plan=to_jsonable(p), marks=marks)
            for n, p in plans.items()
        ]
    )
    if target is State.JOINED:  # only a run to joined watches the layer's Nodes
        # what the watch says once the run starts: the API, both Nodes Ready
        store.record("cp", "api-answered", {"layer": "mgmt"})
        store.record("cp", "node-ready", {})
        store.record("k1-n1", "node-ready", {})
    fleet = Fleet(topo, store, FAST)
    for machine in fleet.machines.values():
        machine.power = PowerState.ON
    try:
        opts = ApplyOptions(poll_interval=0.01, target=target)
        summary = Reconciler(build_plan(topo, *recorded(store)), store, fleet, opts).run()
    finally:
        fleet.close()
    assert summary.ok and summary.states["k1-n1"] is target
    assert store.attempt("k1-n1") is None, "the install attempt is still open"
    store.close()
