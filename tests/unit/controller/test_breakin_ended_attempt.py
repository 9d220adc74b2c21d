"""Break-in: the loop's own actions touch the store before the record of the state
they belong to is flushed (``_end_attempt`` runs inside ``_feed``; the record waits in
``_writes`` for the next ``_flush``). A restart mid power-on finds the node
provisioning and the log holding iPXE, Ignition and installed: the replay carries it
to provisioned in one ``_feed`` and ends its attempt at once; a controller killed
before the next flush leaves the record at provisioning with the attempt ended. The
next restart's prepare-boot sees no attempt of its own and a machine that is on (no
consent mark: the power-on took it): the node Strata just installed is found running."""

from __future__ import annotations

from pathlib import Path

from strata.bmc import PowerState
from strata.controller import ApplyOptions, Reconciler, State, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan, to_jsonable
from strata.store import RecordWrite, SQLiteStore

FAST = FleetSettings(latency=(0.001, 0.003), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04))


def test_a_kill_after_the_attempt_ended_and_before_the_record_does_not_strand_the_node(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    topo = generated_topology(1, 1)
    plans = {p.name: p for p in build_plan(topo).nodes}
    n = store.begin_attempt("k1-n1", 3600).number
    store.write_records(
        [
            RecordWrite("cp", 0, "provisioned", plan=to_jsonable(plans["cp"])),
            RecordWrite(
                "k1-n1",
                0,
                "provisioning",
                marks={"attempt": n, "prepared": n, "powered": n, "running": False},
                plan=to_jsonable(plans["k1-n1"]),
            ),
        ]
    )
    for kind in ("ipxe-fetched", "ignition-fetched", "installed"):
        store.record("k1-n1", kind, {"attempt": n})
    store.end_attempt("k1-n1", provisioned=True)  # the replay's boot-from-disk, then killed
    fleet = Fleet(topo, store, FAST)
    for machine in fleet.machines.values():
        machine.power = PowerState.ON
    try:
        opts = ApplyOptions(poll_interval=0.01)
        summary = Reconciler(build_plan(topo, *recorded(store)), store, fleet, opts).run()
    finally:
        fleet.close()
    assert fleet.machines["k1-n1"].power_ons == 0
    assert summary.states["k1-n1"] is State.PROVISIONED, summary.found_running
    store.close()
