"""From a validated topology to what Strata will do: NodePlans, ClusterPlans, actions."""

from strata.plan.build import build_plan, node_plan
from strata.plan.diff import REPROVISION_FIELDS, diff
from strata.plan.model import (
    BMCAccess,
    ChangeKind,
    ClusterPlan,
    DiskPlan,
    InterfacePlan,
    NodeChange,
    NodePlan,
    Plan,
    RackPlan,
    node_plan_from_jsonable,
    rack_key,
    to_jsonable,
)

__all__ = [
    "REPROVISION_FIELDS",
    "BMCAccess",
    "ChangeKind",
    "ClusterPlan",
    "DiskPlan",
    "InterfacePlan",
    "NodeChange",
    "NodePlan",
    "Plan",
    "RackPlan",
    "build_plan",
    "diff",
    "node_plan",
    "node_plan_from_jsonable",
    "rack_key",
    "to_jsonable",
]
