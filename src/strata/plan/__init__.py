"""From a validated topology to what Strata will do: NodePlans, ClusterPlans, actions."""

from strata.plan.build import build_plan, node_plan
from strata.plan.diff import REPROVISION_FIELDS, diff
from strata.plan.model import (
    ChangeKind,
    ClusterPlan,
    InterfacePlan,
    NodeChange,
    NodePlan,
    Plan,
    node_plan_from_jsonable,
    to_jsonable,
)

__all__ = [
    "REPROVISION_FIELDS",
    "ChangeKind",
    "ClusterPlan",
    "InterfacePlan",
    "NodeChange",
    "NodePlan",
    "Plan",
    "build_plan",
    "diff",
    "node_plan",
    "node_plan_from_jsonable",
    "to_jsonable",
]
