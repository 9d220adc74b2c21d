"""Maintenance (`strata maintenance on|off`): hands off while a person works on a server,
then back where it rested; an install cut short starts again from registration and
never resets a running machine without consent. Real SQLite store, the simulated fleet
(its BMC calls counted), the reconciler as `strata apply` runs it."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest

from strata.controller import ApplyOptions, Event, Reconciler, State, Summary, recorded
from strata.controller.actions import CalledOff
from strata.controller.lifecycle import Action
from strata.controller.requests import RequestRefused, request
from strata.controller.tracked import Tracked
from strata.controller.workers import Workers
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import ChangeKind, build_plan
from strata.store import SQLiteStore
from strata.topology import Topology

FAST = FleetSettings(latency=(0.001, 0.002), boot_seconds=(0.05, 0.1), install_seconds=(0.05, 0.1))


def apply(topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any) -> Summary:
    plan = build_plan(topo, *recorded(store))
    return Reconciler(plan, store, fleet, ApplyOptions(poll_interval=0.01, **options)).run()


def calls(fleet: Fleet, name: str) -> tuple[int, int]:
    machine = fleet.machines[name]
    return machine.power_ons, machine.power_offs


def wait_for(store: SQLiteStore, name: str, kind: str, timeout: float = 30.0) -> None:
    """Until ``name``'s log has an entry of ``kind``."""
    deadline = time.monotonic() + timeout
    while not any(e.kind == kind for e in store.events(name)):
        assert time.monotonic() < deadline, f"{name} never {kind}"
        time.sleep(0.01)


def test_a_running_controller_takes_a_booting_server_into_maintenance(
    store: SQLiteStore,
) -> None:
    """While `strata apply` runs, a person puts a server that is booting in maintenance:
    the request goes through the log, the controller ends its attempt (no config is
    served to it), the run ends with it in maintenance, its reason the person's note;
    taken out with no controller running, the next apply checks its BMC again and, the
    machine being on by no install in progress, holds it at found-running: never reset."""
    topo = generated_topology(1, 2)
    fleet = Fleet(topo, store, FAST)
    try:
        fleet.machines["k1-n2"].no_ignition = True  # stays booting until asked
        summary: list[Summary] = []
        run = threading.Thread(target=lambda: summary.append(apply(topo, store, fleet)))
        run.start()
        wait_for(store, "k1-n2", "ipxe-fetched")  # booting (a record that waits: write-behind)
        assert store.attempt("k1-n2") is not None
        asked = request(store, ["k1-n2"], Event.MAINTENANCE_ON, reason="reseating a DIMM")
        assert asked.controller is not None  # through the running controller's log
        run.join(60)
        assert not run.is_alive()
        assert summary[0].states["k1-n2"] is State.MAINTENANCE
        assert summary[0].states["k1-n1"] is State.PROVISIONED  # the others went on
        record = store.records()["k1-n2"]
        assert (record.state, record.step, record.reason) == (
            "maintenance",
            "booting",
            "reseating a DIMM",
        )
        assert store.attempt("k1-n2") is None  # its tokens died: no config served
        assert calls(fleet, "k1-n2") == (1, 0)

        request(store, ["k1-n2"], Event.MAINTENANCE_OFF)  # no controller: records written
        assert store.records()["k1-n2"].state == "registering"
        again = apply(topo, store, fleet)
        assert again.states["k1-n2"] is State.FOUND_RUNNING
        assert calls(fleet, "k1-n2") == (1, 0)  # found on: not reset without consent
    finally:
        fleet.close()


@pytest.mark.parametrize("target", [State.PROVISIONED, State.JOINED])
def test_an_installed_server_goes_back_where_it_rested_untouched(
    store: SQLiteStore, target: State
) -> None:
    """Provisioned (or joined): into maintenance and out again with no controller
    running; the next apply finds it where it was and makes no BMC call to it."""
    topo = generated_topology(1, 2)
    joins = (0.01, 0.02) if target is State.JOINED else None  # else it would join on its own
    fleet = Fleet(topo, store, dataclasses.replace(FAST, join_seconds=joins))
    try:
        assert apply(topo, store, fleet, target=target).states["k1-n2"] is target
        before = calls(fleet, "k1-n2")
        request(store, ["k1-n2"], Event.MAINTENANCE_ON)
        record = store.records()["k1-n2"]
        assert (record.state, record.step, record.reason) == (
            "maintenance",
            target.value,
            "maintenance-on",
        )
        held = apply(topo, store, fleet, target=target)  # hands off: nothing to do for it
        assert held.states["k1-n2"] is State.MAINTENANCE
        request(store, ["k1-n2"], Event.MAINTENANCE_OFF)
        assert store.records()["k1-n2"].state == target.value
        assert apply(topo, store, fleet, target=target).states["k1-n2"] is target
        assert calls(fleet, "k1-n2") == before
    finally:
        fleet.close()


def test_requests_the_table_does_not_allow_are_refused_and_change_nothing(
    store: SQLiteStore,
) -> None:
    topo = generated_topology(1, 1)  # k1-n1, cp
    fleet = Fleet(topo, store, FAST)
    try:
        apply(topo, store, fleet)
        with pytest.raises(RequestRefused, match="k1-n1: provisioned, not maintenance"):
            request(store, ["k1-n1"], Event.MAINTENANCE_OFF)
        request(store, ["k1-n1"], Event.MAINTENANCE_ON)
        version = store.records()["k1-n1"].version
        with pytest.raises(RequestRefused, match="k1-n1: already in maintenance"):
            request(store, ["k1-n1"], Event.MAINTENANCE_ON)
        with pytest.raises(RequestRefused, match="nobody: no such node"):
            request(store, ["k1-n1", "nobody"], Event.MAINTENANCE_OFF)
        assert store.records()["k1-n1"].version == version
    finally:
        fleet.close()


def test_a_reinstall_change_made_during_maintenance_still_needs_consent_after_it(
    store: SQLiteStore,
) -> None:
    """A change of what a provisioned server is installed from, applied while it is in
    maintenance: not recorded as done (nothing was reinstalled); back at provisioned it
    is held for --allow-reprovision like any installed server, and reinstalled with it."""
    topo = generated_topology(1, 1)  # k1-n1, cp
    fleet = Fleet(topo, store, FAST)
    try:
        apply(topo, store, fleet)
        request(store, ["k1-n1"], Event.MAINTENANCE_ON)
        changed = generated_topology(1, 1, os_version="4152.2.0")  # a reinstall field
        assert apply(changed, store, fleet).states["k1-n1"] is State.MAINTENANCE
        request(store, ["k1-n1"], Event.MAINTENANCE_OFF)
        held = apply(changed, store, fleet)
        assert held.states["k1-n1"] is State.PROVISIONED
        assert "--allow-reprovision k1-n1" in held.held["k1-n1"]
        assert calls(fleet, "k1-n1") == (1, 0)
        consented = apply(changed, store, fleet, allow_reprovision=frozenset({"k1-n1"}))
        assert consented.states["k1-n1"] is State.PROVISIONED
        assert calls(fleet, "k1-n1") == (2, 0)
    finally:
        fleet.close()


def test_a_power_on_called_off_before_its_bmc_call_does_nothing(store: SQLiteStore) -> None:
    """A node moved on (into maintenance) while its power-on waited for its rack's
    stagger: the worker finds it called off after the wait, before any attempt or BMC
    call (``Workers.call_off``); the other node's power-on went through."""
    topo = generated_topology(
        1, 2, budget="powerBudget: {maxConcurrentPowerOn: 2, staggerSeconds: 1}"
    )
    plan = build_plan(topo)
    fleet = Fleet(topo, store, FAST)
    workers = Workers(plan.racks, fleet, store, ApplyOptions())
    try:
        first, second = (
            Tracked(n.name, n, ChangeKind.CREATE, State.PROVISIONING, 1, Action.POWER_ON)
            for n in plan.nodes
            if n.name in ("k1-n1", "k1-n2")
        )
        now = time.time()
        assert workers.submit(first, now) == (0.0, "")
        assert workers.submit(second, now + 60) == (0.0, "")  # the loop let it go: pace waits
        workers.call_off(second.name)
        results: dict[str, object] = {}
        deadline = time.monotonic() + 10
        while len(results) < 2 and time.monotonic() < deadline:
            results |= {name: outcome for name, _, outcome in workers.collect(0.5)[0]}
        assert isinstance(results[second.name], CalledOff)
        assert calls(fleet, second.name) == (0, 0) and store.attempt(second.name) is None
        assert calls(fleet, first.name) == (1, 0) and store.attempt(first.name) is not None
    finally:
        workers.shutdown()
        fleet.close()
