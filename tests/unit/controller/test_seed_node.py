"""The seed's own machine (``ApplyOptions.seed_node``): the seed's run holds it at
declared with no BMC call, says why, and settles without it; the run after the hand-over
(no seed node, the node in ``allow_reprovision``: the cluster's controller with the
Topology's consent) finds it on and reinstalls it with one power cycle, touching no
other server. Simulated fleet, real SQLite files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strata.bmc import PowerState
from strata.controller import ApplyOptions, Reconciler, State, Summary, recorded
from strata.controller.options import SEED_HELD
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import Topology

FAST = FleetSettings(
    latency=(0.001, 0.002), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


def apply(topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any) -> Summary:
    return Reconciler(
        build_plan(topo, *recorded(store)),
        store,
        fleet,
        ApplyOptions(poll_interval=0.01, **options),
    ).run()


def test_the_seed_node_is_held_untouched_then_reinstalled_with_the_consent(
    tmp_path: Path,
) -> None:
    topo = generated_topology(1, 3)
    store = SQLiteStore(tmp_path / "s.db")
    fleet = Fleet(topo, store, FAST)
    try:
        seed = sorted(fleet.machines)[-1]
        machine = fleet.machines[seed]
        machine.power = PowerState.ON  # it runs the seed
        machine.unreachable = True  # any BMC call would fail it: none is made
        held = apply(topo, store, fleet, seed_node=seed)
        assert held.ok and held.held == {seed: SEED_HELD}
        assert held.states[seed] is State.DECLARED
        assert store.records()[seed].reason == SEED_HELD  # what status shows
        others = sorted(n for n in fleet.machines if n != seed)
        assert {held.states[n] for n in others} == {State.PROVISIONED}
        assert (machine.power_ons, machine.power_offs, machine.boot_once) == (0, 0, None)

        machine.unreachable = False
        ons = {n: fleet.machines[n].power_ons for n in others}
        after = apply(topo, store, fleet, allow_reprovision=frozenset({seed}))
        assert after.ok and after.states[seed] is State.PROVISIONED
        assert machine.power_ons == 1 and machine.power_offs == 0  # reset into the installer
        assert {n: fleet.machines[n].power_ons for n in others} == ons
    finally:
        fleet.close()
