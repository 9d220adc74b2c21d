"""Waking a layer's gate: the ready nodes waiting unchanged at a gate still shut stay
where they are without looking again (the gate is read once, not once per node); any
other waiting node (the gate opened, or it moved on, or it is held) looks again."""

from __future__ import annotations

from strata.controller.layers import Layers
from strata.controller.lifecycle import Action, State
from strata.controller.tracked import Tracked, tracked_from
from strata.lab.generated import generated_topology
from strata.plan import build_plan


def a_layer() -> tuple[Layers, dict[str, Tracked], str, list[str]]:
    plan = build_plan(generated_topology(1, 6))
    nodes = {t.name: t for t, _ in tracked_from(plan, {})}
    cluster = plan.clusters[0]
    init, workers = cluster.control_plane[0], list(cluster.workers)
    for name in workers:
        nodes[name].state = State.READY
    nodes[init].state = State.PROVISIONING
    return Layers(plan), nodes, init, workers


def test_nodes_waiting_at_a_shut_gate_stay_without_looking_again() -> None:
    layers, nodes, _, workers = a_layer()
    for name in workers:
        layers.wait(nodes[name])
    layer = nodes[workers[0]].plan.layer
    assert layers.wake(layer, nodes) == []
    assert layers.wake(layer, nodes) == [], "still waiting: woken again, still none"


def test_every_waiting_node_looks_again_once_the_gate_opens() -> None:
    layers, nodes, init, workers = a_layer()
    for name in workers:
        layers.wait(nodes[name])
    nodes[init].state = State.JOINED
    layer = nodes[workers[0]].plan.layer
    assert sorted(layers.wake(layer, nodes)) == sorted(workers)
    assert layers.wake(layer, nodes) == [], "woken: no longer waiting until they wait again"


def test_a_waiting_node_that_moved_on_or_is_held_looks_again_at_a_shut_gate() -> None:
    layers, nodes, _, workers = a_layer()
    moved, held, busy, acting, *rest = workers
    for name in workers:
        layers.wait(nodes[name])
    nodes[moved].state = State.MAINTENANCE
    nodes[held].held = "waits for consent"
    nodes[busy].busy = True
    nodes[acting].action = Action.POWER_OFF
    layer = nodes[moved].plan.layer
    assert sorted(layers.wake(layer, nodes)) == sorted([moved, held, busy, acting])
    assert rest and layers.wake(layer, nodes) == [], "the others still wait, unlooked at"
    nodes[rest[0]].state = State.PROVISIONING  # e.g. `strata retry` moved it on
    assert layers.wake(layer, nodes) == [rest[0]]
