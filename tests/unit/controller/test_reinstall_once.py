"""A node whose plan changed in a reinstall field while it was not yet
installed (failed, retried) is installed once with the new plan, and then not held
or reinstalled again because of that same change."""

from __future__ import annotations

from typing import Any

import pytest

from strata.controller import ApplyOptions, Event, Reconciler, State, Summary, recorded
from strata.controller.requests import request
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import Topology

FAST = FleetSettings(
    latency=(0.001, 0.003), boot_seconds=(0.02, 0.04), install_seconds=(0.02, 0.04)
)


def apply(topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any) -> Summary:
    plan = build_plan(topo, *recorded(store))
    return Reconciler(plan, store, fleet, ApplyOptions(poll_interval=0.01, **options)).run()


@pytest.mark.parametrize("consent", [False, True])
def test_a_failed_node_retried_after_a_reinstall_field_changed_installs_once(
    store: SQLiteStore, consent: bool
) -> None:
    """The documented road: the installer found no disk, the person corrects the file (a
    reinstall field), `strata retry`, apply. The node installs with the new plan; its
    change is then done, not asked about again (nor, with consent, done twice)."""
    topo = generated_topology(1, 1)
    fleet = Fleet(topo, store, FAST)
    try:
        fleet.machines["k1-n1"].install_refusal = "root-device-not-found"
        assert apply(topo, store, fleet).states["k1-n1"] is State.FAILED
        assert fleet.machines["k1-n1"].power_ons == 1
        fleet.machines["k1-n1"].install_refusal = None
        request(store, ["k1-n1"], Event.RETRY)
        fixed = generated_topology(1, 1, os_version="4152.2.0")  # a reinstall field
        consents = frozenset({"k1-n1"}) if consent else frozenset()
        summary = apply(fixed, store, fleet, allow_reprovision=consents)
        assert summary.states["k1-n1"] is State.PROVISIONED
        assert fleet.machines["k1-n1"].power_ons == 2, "reinstalled twice in one run"
        assert "k1-n1" not in summary.held, summary.held["k1-n1"]
    finally:
        fleet.close()
