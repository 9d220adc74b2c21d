"""Each layer's order of joining, as a gate a ready node waits at before its install.

kubeadm and k3s form a cluster in one order: the first control-plane node initialises
it (its API comes up at the layer's VIP), the other control-plane nodes and the workers
join that API. A layer provisioned by another layer (``provisionedBy``) waits for that
layer's control plane to be joined. A node whose gate cannot open (the init node, or
the parent's control plane, failed) is held with the reason instead of waiting forever.

What a gate reads: the node states the reconciler tracks and which layers' APIs
answered (``api-answered`` entries the layer's watch of Nodes writes to the event log).
The ready nodes at a gate wait in it (``wait``) and look again when it may have moved
(``wake``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from strata.controller.inputs import CLUSTER_NEWS
from strata.controller.lifecycle import STOPPED, Action, State
from strata.controller.tracked import Tracked
from strata.plan import ClusterPlan, Plan
from strata.provisioning import LogKind

__all__ = ["CLUSTER_NEWS", "OPEN", "WAIT", "Gate", "Layers"]


OPEN, WAIT = "open", "wait"
Gate = str  # OPEN, WAIT, or why the node is held (the gate can never open)

_STUCK = STOPPED
_GATE_READS = _STUCK | {State.JOINED}  # the states of a node that a gate reads (and held)


class Layers:
    """The run's layers (from its plan), and what each layer's API last said."""

    def __init__(self, plan: Plan) -> None:
        self.clusters = {c.name: c for c in plan.clusters}
        self.answered: set[str] = set()  # layers whose API answered during this run
        self.unreachable: dict[str, str] = {}  # layer -> why its API did not answer, last
        self._waiting: dict[str, set[str]] = {}  # layer -> its ready nodes at its gate

    def init_node(self, layer: str) -> str | None:
        """The layer's first control-plane node: the one that initialises the cluster."""
        cluster = self.clusters.get(layer)
        return cluster.control_plane[0] if cluster and cluster.control_plane else None

    def gate(self, t: Tracked, nodes: Mapping[str, Tracked]) -> Gate:
        """May ``t`` (ready) be installed now, in a run whose target is joined?"""
        cluster = self.clusters.get(t.plan.layer)
        if cluster is None:
            return OPEN
        parent = self.clusters.get(cluster.provisioned_by)
        if parent is not None and parent is not cluster:
            waiting = _control_plane_gate(parent, nodes)
            if waiting is not OPEN:
                return waiting
        init = self.init_node(cluster.name)
        first = nodes.get(init) if init is not None else None
        if init is None or init == t.name or cluster.name in self.answered:
            return OPEN
        if first is not None and first.state is State.JOINED:
            return OPEN  # Ready in its cluster: the API answered; a join that cannot, times out
        if first is not None and (first.state in _STUCK or first.held):
            return f"waits for layer {cluster.name}'s API: its first control-plane node {init} is {first.state}"
        return WAIT

    def wait(self, t: Tracked) -> None:
        """``t`` (ready) waits at its layer's gate, or is held there, until ``wake``."""
        self._waiting.setdefault(t.plan.layer, set()).add(t.name)

    def wake(self, layer: str, nodes: Mapping[str, Tracked]) -> list[str]:
        """The layer's gate may have moved: the nodes waiting at it that must look again
        (and wait again, with ``wait``, if it is still shut). A node that waits unchanged
        at a gate still shut (``WAIT``) stays without looking: every node but the init
        node sees the same gate, read here once rather than once per node (the workers
        of a layer of 5,000 wait through every step of its parent's control plane)."""
        waiting = self._waiting.pop(layer, set())
        init = self.init_node(layer)
        idle = {n for n in waiting if n != init and _idle(nodes[n])}
        if not idle or self.gate(nodes[next(iter(idle))], nodes) != WAIT:
            return list(waiting)
        self._waiting[layer] = idle
        return [n for n in waiting if n not in idle]

    def affected_by(self, t: Tracked, left: State | None = None) -> Iterable[str]:
        """The layers whose gates may move when ``t`` moves: its own when it is the init
        node, and every layer its layer provisions when it is a control-plane node.
        ``left``: the state ``t`` just left for ``t.state`` (None: its hold changed); a
        gate reads only whether a node is joined, stuck or held, so a step between two
        states that are neither moves none (a parent's control-plane node goes through
        ~10 of them, each waking up to thousands of waiting workers)."""
        if left is not None and left not in _GATE_READS and t.state not in _GATE_READS:
            return
        layer = t.plan.layer
        if self.init_node(layer) == t.name:
            yield layer
        cluster = self.clusters.get(layer)
        if cluster is not None and t.name in cluster.control_plane:
            yield from (c.name for c in self.clusters.values() if c.provisioned_by == layer)

    def news(self, t: Tracked, kind: str, detail: Mapping[str, Any]) -> str | None:
        """A ``CLUSTER_NEWS`` entry about ``t`` (for an API: its layer's init node): a
        node registered and not Ready (and why, kept for its timeout's reason), or the
        layer's API answering or not. Returns the layer whose gate may have moved."""
        why = str(detail.get("reason") or "no reason given")
        if kind == LogKind.NODE_REGISTERED:
            t.seen = f"registered, not Ready: {why}"
            return None
        layer = str(detail.get("layer", t.plan.layer))
        if kind == LogKind.API_ANSWERED:
            self.answered.add(layer)
            self.unreachable.pop(layer, None)
            return layer
        self.unreachable[layer] = why
        return None

    def join_seen(self, t: Tracked) -> str:
        """What was last seen of a node that did not join: for a timeout's reason."""
        cluster = self.clusters.get(t.plan.layer)
        api = f"the API at {cluster.endpoint}" if cluster else "its layer's API"
        if t.seen:
            return f"last seen: {t.seen}"
        if t.plan.layer in self.unreachable:
            return f"{api} did not answer: {self.unreachable[t.plan.layer]}"
        if t.plan.layer in self.answered:
            return f"it never registered with {api}"
        return f"{api} never answered"


def _idle(t: Tracked) -> bool:
    """At rest at its gate and nothing else: what the gate says is all it goes on."""
    return (
        t.state is State.READY and t.action is Action.NONE and not (t.busy or t.held or t.removed)
    )


def _control_plane_gate(parent: ClusterPlan, nodes: Mapping[str, Tracked]) -> Gate:
    states = [nodes[n] for n in parent.control_plane if n in nodes]
    stuck = [t.name for t in states if t.state in _STUCK or t.held]
    if stuck:
        return f"waits for layer {parent.name}'s control plane: {', '.join(stuck)} failed or held"
    if all(t.state is State.JOINED for t in states):
        return OPEN
    return WAIT
