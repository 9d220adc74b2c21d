"""The reconciler against the in-process simulated fleet: scheduling rules, consent,
pruning, transient faults, the lease. (The emulator tests in tests/integration/controller
drive real Redfish; these check timing and policy quickly and exactly.)"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from strata.controller import ApplyOptions, Change, Reconciler, State, Summary, Timeouts, recorded
from strata.controller.lease import Lease
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import SQLiteStore, WriterBusy
from strata.topology import Topology

FAST = FleetSettings(latency=(0.005, 0.01), boot_seconds=(0.05, 0.1), install_seconds=(0.05, 0.1))


def topology(
    racks: int = 1, per_rack: int = 4, budget: str = "", os_version: str = "4081.2.0"
) -> Topology:
    return generated_topology(racks, per_rack, budget=budget, os_version=os_version)


def apply(
    topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any
) -> tuple[Summary, list[Change]]:
    changes: list[Change] = []
    opts = ApplyOptions(poll_interval=0.02, **options)
    summary = Reconciler(
        build_plan(topo, *recorded(store)), store, fleet, opts, changes.append
    ).run()
    return summary, changes


@pytest.fixture
def fleets(store: SQLiteStore) -> Iterator[Callable[[Topology], Fleet]]:
    made: list[Fleet] = []

    def make(topo: Topology) -> Fleet:
        made.append(Fleet(topo, store, FAST))
        return made[-1]

    yield make
    for fleet in made:
        fleet.close()


def test_every_node_is_provisioned_once_and_a_second_apply_touches_nothing(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    topo = topology(racks=2, per_rack=3)
    fleet = fleets(topo)
    summary, changes = apply(topo, store, fleet)
    assert summary.ok and set(summary.states.values()) == {State.PROVISIONED}
    assert {m.power_ons for m in fleet.machines.values()} == {1}
    road = [c.after for c in changes if c.node == "k1-n1" and c.before is not None]
    assert road == [
        State.REGISTERING,
        State.INSPECTING,
        State.READY,
        State.PROVISIONING,
        State.BOOTING,
        State.INSTALLING,
        State.PROVISIONED,
    ]
    assert store.attempt("k1-n1") is None  # attempt closed: its tokens no longer work
    summary, changes = apply(topo, store, fleet)
    assert summary.ok and [c for c in changes if c.before is not None] == []
    assert {m.power_ons for m in fleet.machines.values()} == {1}


def test_a_racks_power_budget_bounds_and_spaces_its_power_ons(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    topo = topology(
        racks=2, per_rack=6, budget="powerBudget: {maxConcurrentPowerOn: 2, staggerSeconds: 0.2}"
    )
    fleet = fleets(topo)
    summary, _ = apply(topo, store, fleet)
    assert summary.ok
    for rack in ("k1", "k2"):
        spans = sorted(
            s for n, m in fleet.machines.items() if n.startswith(rack + "-") for s in m.powering
        )
        assert len(spans) == 6
        starts = [start for start, _ in spans]
        # Spaced, not bunched: the calls are claimed 0.2 s apart (test_schedule checks the
        # claims exactly); a loaded machine may delay a worker between its claim and the
        # simulated BMC's clock, so the observed gap is only bounded well below the stagger.
        assert all(b - a >= 0.1 for a, b in itertools.pairwise(starts))
        for start, _ in spans:  # never more than two powering at once
            assert sum(1 for s, e in spans if s <= start < e) <= 2


def test_a_transient_bmc_fault_is_retried_with_backoff(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    topo = topology(per_rack=1)
    fleet = fleets(topo)
    fleet.machines["k1-n1"].flaky_calls = 2
    summary, _ = apply(topo, store, fleet)
    assert summary.ok


def test_a_bmc_that_never_answers_fails_at_its_phase_timeout_with_the_last_error(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    topo = topology(per_rack=2)
    fleet = fleets(topo)
    fleet.machines["k1-n2"].unreachable = True
    summary, _ = apply(topo, store, fleet, timeouts=Timeouts(registering=0.5), max_backoff=0.1)
    assert summary.states["k1-n1"] is State.PROVISIONED
    assert summary.failed["k1-n2"].startswith(
        "registering: the BMC gave no answer in 0.5 s; last error: node k1-n2"
    )
    assert "connection refused" in summary.failed["k1-n2"]


def test_a_provisioned_node_is_reinstalled_only_with_consent(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    topo = topology(per_rack=2)
    fleet = fleets(topo)
    apply(topo, store, fleet)
    newer = topology(per_rack=2, os_version="4152.2.0")
    summary, _ = apply(newer, store, fleet)
    assert (
        summary.held["k1-n1"] == "os_version changed: reinstalling needs --allow-reprovision k1-n1"
    )
    assert {m.power_ons for m in fleet.machines.values()} == {1}
    assert store.records()["k1-n1"].plan["os_version"] == "4081.2.0"  # the change is not taken
    summary, _ = apply(newer, store, fleet, allow_reprovision=frozenset({"k1-n1"}))
    assert summary.states["k1-n1"] is State.PROVISIONED and "k1-n2" in summary.held
    assert fleet.machines["k1-n1"].power_ons == 2 and fleet.machines["k1-n2"].power_ons == 1
    assert store.records()["k1-n1"].plan["os_version"] == "4152.2.0"


def test_a_removed_node_is_powered_off_only_with_prune_and_its_record_kept(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    topo = topology(per_rack=3)
    fleet = fleets(topo)
    apply(topo, store, fleet)
    smaller = topology(per_rack=2)
    summary, _ = apply(smaller, store, fleet)
    assert summary.held["k1-n3"] == "removed from topology.yaml: powering it off needs --prune"
    assert fleet.machines["k1-n3"].power_offs == 0
    summary, _ = apply(smaller, store, fleet, prune=True)
    assert fleet.machines["k1-n3"].power_offs == 1
    assert store.records()["k1-n3"].state == "declared"  # kept, powered off
    assert [m.power_offs for n, m in fleet.machines.items() if n != "k1-n3"] == [0, 0, 0]


def test_one_controller_at_a_time_and_a_dead_ones_lease_is_taken_over(store: SQLiteStore) -> None:
    other = Lease(store, ttl=30)
    other.holder = "strata apply (pid 1 on another-host)"
    other.acquire()
    topo = topology(per_rack=1)
    with pytest.raises(WriterBusy, match="pid 1 on another-host"):
        apply(topo, store, Fleet(topo, store, FAST))
    other.release()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = Lease(store, ttl=30)
    gone.holder = f"strata apply (pid {dead.stdout.strip()} on {os.uname().nodename})"
    gone.acquire()
    fleet = Fleet(topo, store, FAST)
    try:
        summary, _ = apply(topo, store, fleet)
    finally:
        fleet.close()
    assert summary.ok and store.writer() is None


def test_phase_timeouts_are_named() -> None:
    assert Timeouts().with_overrides({"booting": 5}).booting == 5
    with pytest.raises(ValueError, match="no phase named bootin"):
        Timeouts().with_overrides({"bootin": 5})


def test_a_missing_artifact_fails_the_node_at_once_naming_the_file(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet]
) -> None:
    """The boot service records the 404 on the node; the node fails with the file's name
    instead of waiting out the booting phase with a reason that blames DHCP."""
    topo = topology(per_rack=2)
    fleet = fleets(topo)
    name = sorted(fleet.machines)[-1]
    fleet.machines[name].missing_artifact = "flatcar/4081.2.0/flatcar_production_pxe.vmlinuz"
    summary, _ = apply(topo, store, fleet)  # the booting phase's timeout is 1,800 s
    assert summary.states[name] is State.FAILED
    assert (
        "flatcar_production_pxe.vmlinuz, which is not in the artifact mirror"
        in summary.failed[name]
    )
    assert summary.failed[name].startswith("booting:")
    assert {s for n, s in summary.states.items() if n != name} == {State.PROVISIONED}


@pytest.mark.parametrize(
    ("report", "says"),
    [
        ("root-device-not-found", "no disk on the machine matches its rootDeviceHints"),
        ("root-device-ambiguous", "more than one disk on the machine matches"),
    ],
)
def test_an_installer_that_finds_no_single_disk_fails_its_node_at_once(
    store: SQLiteStore, fleets: Callable[[Topology], Fleet], report: str, says: str
) -> None:
    topo = topology(per_rack=1)
    fleet = fleets(topo)
    name = sorted(fleet.machines)[-1]
    fleet.machines[name].install_refusal = report
    summary, _ = apply(topo, store, fleet)  # the installing phase's timeout is an hour
    assert summary.states[name] is State.FAILED
    assert summary.failed[name].startswith("installing:") and says in summary.failed[name]
    assert not fleet.machines[name].installed
