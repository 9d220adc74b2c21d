"""The reconciler's stop hook (what the in-cluster controller sets to replan): once set, no
new BMC action starts, the run returns when the running ones are recorded, and a later
run on the same store finishes the work without powering any machine on twice."""

from __future__ import annotations

import threading
from pathlib import Path

from strata.controller import ApplyOptions, Change, Reconciler, State, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import SQLiteStore

SLOW = FleetSettings(latency=(0.01, 0.02), boot_seconds=(0.3, 0.4), install_seconds=(0.2, 0.3))


def test_a_stopped_run_returns_early_and_the_next_one_finishes_without_repeats(
    tmp_path: Path,
) -> None:
    topo = generated_topology(1, 4, budget="")
    store = SQLiteStore(tmp_path / "state.db")
    fleet = Fleet(topo, store, SLOW)
    stop = threading.Event()
    options = ApplyOptions(poll_interval=0.02)

    def stop_at_first_power_on(change: Change) -> None:
        if change.after is State.BOOTING:
            stop.set()

    try:
        first = Reconciler(
            build_plan(topo, *recorded(store)),
            store,
            fleet,
            options,
            stop_at_first_power_on,
            stop=stop,
        ).run()
        assert stop.is_set()
        assert set(first.states.values()) != {State.PROVISIONED}  # it stopped early
        second = Reconciler(build_plan(topo, *recorded(store)), store, fleet, options).run()
        assert set(second.states.values()) == {State.PROVISIONED}
        assert all(m.power_ons == 1 for m in fleet.machines.values())
    finally:
        fleet.close()
        store.close()
