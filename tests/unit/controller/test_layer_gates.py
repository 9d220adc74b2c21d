"""A layer's gate, once it held the rest of the layer, must open again when
the init node it blamed goes on (consent to reinstall it, a retry while the run runs)."""

from __future__ import annotations

import threading
import time
from typing import Any

from strata.bmc import PowerState
from strata.controller import ApplyOptions, Event, Reconciler, State, Summary, Timeouts, recorded
from strata.controller.requests import request
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan, to_jsonable
from strata.store import RecordWrite, SQLiteStore
from strata.topology import Topology

FAST = FleetSettings(
    latency=(0.001, 0.003),
    boot_seconds=(0.02, 0.04),
    install_seconds=(0.02, 0.04),
    join_seconds=(0.02, 0.04),
)


def join(topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any) -> Summary:
    plan = build_plan(topo, *recorded(store))
    opts = ApplyOptions(poll_interval=0.01, target=State.JOINED, **options)
    return Reconciler(plan, store, fleet, opts).run()


def test_consent_to_reinstall_the_init_node_releases_the_rest_of_its_layer(
    store: SQLiteStore,
) -> None:
    """The init node was found running (a lost state), the workers passed inspection and
    wait at ready; the person consents to reinstall the init node. The workers are
    considered first (the plan's order), see it found-running, and are held for the whole
    run although the init node goes on, is installed and joins."""
    topo = generated_topology(1, 2)
    plans = {p.name: p for p in build_plan(topo).nodes}
    store.write_records(
        [
            RecordWrite(
                "cp",
                0,
                "found-running",
                step="registering",
                reason="on",
                plan=to_jsonable(plans["cp"]),
            ),
            *(RecordWrite(n, 0, "ready", plan=to_jsonable(plans[n])) for n in ("k1-n1", "k1-n2")),
        ]
    )
    fleet = Fleet(topo, store, FAST)
    fleet.machines["cp"].power = PowerState.ON
    try:
        summary = join(topo, store, fleet, allow_reprovision=frozenset({"cp"}))
    finally:
        fleet.close()
    assert summary.states["cp"] is State.JOINED
    assert summary.held == {}, summary.held
    assert set(summary.states.values()) == {State.JOINED}


def test_a_retry_of_the_init_node_while_the_run_runs_releases_the_rest_of_its_layer(
    store: SQLiteStore,
) -> None:
    """The init node's installer found no disk; `strata retry cp` while the run is still
    going (another node keeps it busy): the init node joins, the held workers must too."""
    topo = generated_topology(1, 3)
    fleet = Fleet(topo, store, FAST)
    fleet.machines["cp"].install_refusal = "root-device-not-found"
    fleet.machines["k1-n3"].unreachable = True  # keeps the run going for a while
    out: list[Summary] = []
    timeouts = Timeouts(registering=6.0)
    runner = threading.Thread(
        target=lambda: out.append(join(topo, store, fleet, timeouts=timeouts, max_backoff=0.2))
    )
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while store.records().get("cp") is None or store.records()["cp"].state != "failed":
            assert time.monotonic() < deadline, "cp never failed"
            time.sleep(0.02)
        fleet.machines["cp"].install_refusal = None
        request(store, ["cp"], Event.RETRY)
        runner.join(20)
        assert not runner.is_alive()
    finally:
        fleet.close()
    summary = out[0]
    assert summary.states["cp"] is State.JOINED
    assert summary.states["k1-n1"] is State.JOINED, summary.held
    assert summary.states["k1-n2"] is State.JOINED, summary.held


def test_an_init_node_held_for_consent_holds_the_waiting_rest_instead_of_hanging_the_run(
    store: SQLiteStore,
) -> None:
    """The init node is joined, its plan changed a reinstall field (held: no consent);
    the workers wait at ready from an earlier run and the layer's API does not answer.
    The workers are considered first (the plan's order): WAIT, into ``_waiting``; the
    init node is held after them, a hold is no transition, nothing reopens the layer,
    and ready has no deadline: the run never ends."""
    old = generated_topology(1, 2)
    plans = {p.name: p for p in build_plan(old).nodes}
    store.write_records(
        [
            RecordWrite("cp", 0, "joined", plan=to_jsonable(plans["cp"])),
            *(RecordWrite(n, 0, "ready", plan=to_jsonable(plans[n])) for n in ("k1-n1", "k1-n2")),
        ]
    )
    new = generated_topology(1, 2, os_version="4152.2.0")
    fleet = Fleet(new, store, FAST)
    fleet.machines["cp"].power = PowerState.ON
    store.record("cp", "api-unreachable", {"layer": "mgmt", "reason": "connection refused"})
    out: list[Summary] = []
    timeouts = ApplyOptions().timeouts.with_overrides({"joining": 1.0})
    runner = threading.Thread(
        target=lambda: out.append(join(new, store, fleet, timeouts=timeouts)), daemon=True
    )
    runner.start()
    runner.join(6)
    hung = runner.is_alive()
    if hung:  # let it end: the API answers
        fleet.api_up.add("mgmt")
        store.record("cp", "api-answered", {"layer": "mgmt"})
        runner.join(10)
    fleet.close()
    assert not hung, "the run never settles: workers wait for a held init node"
    for worker in ("k1-n1", "k1-n2"):  # held with why, or failed (joining) with why
        assert worker in out[0].held or worker in out[0].failed, out[0]
