"""To joined: every node ends Ready in the cluster its layer declares, in each layer's
order (the init node first, the rest once its API answers; a layer provisioned by another
after that layer's control plane), and a node that does not join fails `joining` saying
what was last seen. Against the simulated fleet, whose clusters report to the event log
as a layer's watch of Nodes does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from strata.controller import ApplyOptions, Change, Reconciler, State, Summary, recorded
from strata.lab.generated import generated_topology
from strata.lab.simulated import Fleet, FleetSettings
from strata.plan import build_plan
from strata.store import RecordWrite, SQLiteStore
from strata.topology import Topology, load

ROOT = Path(__file__).resolve().parents[3]
FAST = FleetSettings(
    latency=(0.001, 0.003),
    boot_seconds=(0.02, 0.05),
    install_seconds=(0.02, 0.05),
    join_seconds=(0.02, 0.05),
)


def join(
    topo: Topology, store: SQLiteStore, fleet: Fleet, **options: Any
) -> tuple[Summary, list[Change]]:
    changes: list[Change] = []
    options = {"target": State.JOINED, **options}
    opts = ApplyOptions(poll_interval=0.01, concurrency=64, **options)
    plan = build_plan(topo, *recorded(store))
    try:
        return Reconciler(plan, store, fleet, opts, changes.append).run(), changes
    finally:
        fleet.close()


def first(changes: list[Change], node: str, after: State) -> int:
    return next(i for i, c in enumerate(changes) if c.node == node and c.after is after)


def test_every_node_joins_in_its_layers_order(store: SQLiteStore, tmp_path: Path) -> None:
    """midsize: three layers, two of them provisioned by mgmt (its racks' power budgets
    left out: they pace power-ons, which another test covers)."""
    text = (ROOT / "examples/midsize/topology.yaml").read_text()
    written = tmp_path / "topology.yaml"
    written.write_text(re.sub(r"\n *powerBudget: \{[^}]*\}", "", text))
    topo = load(written)
    summary, changes = join(topo, store, Fleet(topo, store, FAST))
    assert summary.ok and set(summary.states.values()) == {State.JOINED}
    plan = build_plan(topo)
    mgmt = plan.clusters[0]
    for cluster in plan.clusters:
        init, rest = cluster.control_plane[0], cluster.control_plane[1:] + cluster.workers
        init_joining = first(changes, init, State.JOINING)
        assert all(first(changes, n, State.PROVISIONING) > init_joining for n in rest), cluster.name
        if cluster.provisioned_by == mgmt.name:  # after mgmt's whole control plane joined
            joined = max(first(changes, n, State.JOINED) for n in mgmt.control_plane)
            members = cluster.control_plane + cluster.workers
            assert all(first(changes, n, State.PROVISIONING) > joined for n in members)


def test_a_provisioned_target_installs_without_waiting_for_any_cluster(store: SQLiteStore) -> None:
    topo = generated_topology(1, 4)
    fleet = Fleet(topo, store, FAST)
    for machine in fleet.machines.values():
        machine.never_joins = True
    summary, _ = join(topo, store, fleet, target=State.PROVISIONED)
    assert set(summary.states.values()) == {State.PROVISIONED}


def test_a_node_that_never_registers_fails_joining_and_says_so(store: SQLiteStore) -> None:
    topo = generated_topology(1, 3)
    fleet = Fleet(topo, store, FAST)
    worker = next(n.name for n in topo.nodes if n.role != "control-plane")
    fleet.machines[worker].never_joins = True
    # the others' 20-40 ms joins must fit in it on a loaded machine
    timeouts = ApplyOptions().timeouts.with_overrides({"joining": 4.0})
    summary, _ = join(topo, store, fleet, timeouts=timeouts)
    assert summary.states[worker] is State.FAILED
    reason = summary.failed[worker]
    assert reason.startswith("joining: its Node was not Ready in its layer's cluster within 4 s")
    assert "it never registered with the API at https://" in reason


def test_a_node_registered_not_ready_fails_with_the_kubelets_reason(store: SQLiteStore) -> None:
    topo = generated_topology(1, 3)
    fleet = Fleet(topo, store, FAST)
    worker = next(n.name for n in topo.nodes if n.role != "control-plane")
    fleet.machines[worker].not_ready = "KubeletNotReady: PLEG is not healthy"
    timeouts = ApplyOptions().timeouts.with_overrides({"joining": 4.0})
    summary, _ = join(topo, store, fleet, timeouts=timeouts)
    assert (
        "last seen: registered, not Ready: KubeletNotReady: PLEG is not healthy"
        in (summary.failed[worker])
    )


def test_the_rest_of_a_layer_is_held_when_its_init_node_fails(store: SQLiteStore) -> None:
    """Waiting for an API that will never come would hang the run: held, with why."""
    topo = generated_topology(1, 4)
    fleet = Fleet(topo, store, FAST)
    init = next(n.name for n in topo.nodes if n.role == "control-plane")
    fleet.machines[init].install_refusal = "root-device-not-found"
    summary, _ = join(topo, store, fleet)
    assert summary.states[init] is State.FAILED
    others = [n.name for n in topo.nodes if n.name != init]
    assert others and all(summary.states[n] is State.READY for n in others)
    assert all(f"its first control-plane node {init} is failed" in summary.held[n] for n in others)


def test_a_provisioned_target_leaves_a_node_found_joining_as_it_is(store: SQLiteStore) -> None:
    """An earlier run to joined left a node joining: a run to provisioned has nothing to
    do with it (it is installed), and does not wait out its joining timeout."""
    topo = generated_topology(1, 2)
    first_run = Fleet(topo, store, FAST)
    for machine in first_run.machines.values():
        machine.never_joins = True
    timeouts = ApplyOptions().timeouts.with_overrides({"joining": 0.3})
    join(topo, store, first_run, timeouts=timeouts)
    names = [n.name for n in topo.nodes]
    store.write_records(
        [RecordWrite(n, store.records()[n].version, "joining", marks={}) for n in names]
    )
    summary, _ = join(topo, store, Fleet(topo, store, FAST), target=State.PROVISIONED)
    assert all(summary.states[n] is State.JOINING for n in names)
    assert summary.ok
