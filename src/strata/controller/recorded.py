"""What the store recorded at earlier runs, for the plan to be diffed against: each node's
last applied NodePlan and the nodes waiting for a person (found running).

Whoever assembles a run builds the plan once from these
(``build_plan(topology, *recorded(store))``) and hands it down; the controller itself
never reads topology.yaml.
"""

from __future__ import annotations

from strata.controller.lifecycle import State
from strata.plan import NodePlan, node_plan_from_jsonable
from strata.store import Store

__all__ = ["found_running", "recorded", "recorded_plans"]


def recorded_plans(store: Store) -> dict[str, NodePlan]:
    """The plans the last apply recorded, by node name, to diff the file against."""
    return {n: node_plan_from_jsonable(r.plan) for n, r in store.records().items() if r.plan}


def found_running(store: Store) -> frozenset[str]:
    """Nodes waiting for a person to adopt them or consent to reinstall them."""
    return frozenset(n.name for n in store.summaries() if n.state == State.FOUND_RUNNING)


def recorded(store: Store) -> tuple[dict[str, NodePlan], frozenset[str]]:
    """``(recorded_plans, found_running)``: ``build_plan``'s second and third arguments."""
    return recorded_plans(store), found_running(store)
