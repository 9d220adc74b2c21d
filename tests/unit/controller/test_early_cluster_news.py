"""A controller restarted while a node's power-on was in flight finds the
node provisioning, and the log already holding its whole story (iPXE, Ignition,
installed, then its Node Ready in its layer's cluster). The boot events are held
until the power-on's result (``early``) and replayed; the cluster's ``node-ready`` is
fed at once, means nothing to a provisioning node, and is dropped. The node then
reaches joining and waits for a Ready the watch already said (and, deduplicating,
will not say again): it fails at the joining timeout although it is Ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.bmc import PowerState
from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan, to_jsonable
from strata.store import RecordWrite, SQLiteStore

SLOW_BMC = FleetSettings(
    latency=(0.05, 0.06), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


@pytest.mark.parametrize("marked", [True, False])
def test_a_node_ready_that_outran_the_power_on_result_is_not_lost(
    tmp_path: Path, marked: bool
) -> None:
    """``marked``: the record holds the power-on's marks (as written before the attempt
    opened with the power-on); else only the open attempt says so (as written now)."""
    store = SQLiteStore(tmp_path / "s.db")
    topo = generated_topology(1, 1)
    plans = {p.name: p for p in build_plan(topo).nodes}
    n = store.begin_attempt("k1-n1", 3600).number
    marks = {"attempt": n, "prepared": n, "powered": n, "running": False} if marked else {}
    store.write_records(
        [
            RecordWrite("cp", 0, "joined", plan=to_jsonable(plans["cp"])),
            RecordWrite(
                "k1-n1",
                0,
                "provisioning",
                marks=marks,
                plan=to_jsonable(plans["k1-n1"]),
            ),
        ]
    )
    for kind in ("ipxe-fetched", "ignition-fetched", "installed"):
        store.record("k1-n1", kind, {"attempt": n})
    store.record("cp", "api-answered", {"layer": "mgmt"})
    store.record("k1-n1", "node-registered", {"reason": "KubeletNotReady: cni"})
    store.record("k1-n1", "node-ready", {})
    fleet = Fleet(topo, store, SLOW_BMC)
    for machine in fleet.machines.values():
        machine.power = PowerState.ON
    timeouts = ApplyOptions().timeouts.with_overrides({"joining": 1.0})
    opts = ApplyOptions(poll_interval=0.01, target=State.JOINED, timeouts=timeouts)
    try:
        summary = Reconciler(build_plan(topo, *recorded(store)), store, fleet, opts).run()
    finally:
        fleet.close()
    assert fleet.machines["k1-n1"].power_ons == 0  # powered on before the restart
    assert summary.states["k1-n1"] is State.JOINED, summary.failed
    store.close()
