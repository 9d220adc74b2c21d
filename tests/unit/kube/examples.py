"""Shared: the examples' plans, one layer's cluster and nodes, and fixed join material."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from functools import cache
from pathlib import Path

from strata.kube import JoinMaterial
from strata.plan import ClusterPlan, NodePlan, Plan, build_plan
from strata.topology import load

ROOT = Path(__file__).resolve().parents[3]
MATERIAL = JoinMaterial(
    token="abcdef.0123456789abcdef",
    token_ttl=timedelta(hours=2),
    ca_cert_hashes=("sha256:" + "0a" * 32,),
    certificate_key="1f" * 32,
)
K3S_TOKEN = MATERIAL.token


@cache
def plan(example: str) -> Plan:
    return build_plan(load(ROOT / "examples" / example / "topology.yaml"))


def layer(example: str, name: str, version: str | None = None) -> ClusterPlan:
    """Layer ``name`` of ``example``, at another ``version`` if given."""
    cluster = next(c for c in plan(example).clusters if c.name == name)
    return dataclasses.replace(cluster, version=version) if version else cluster


def node(example: str, name: str) -> NodePlan:
    return next(n for n in plan(example).nodes if n.name == name)


def members(example: str, cluster: ClusterPlan) -> list[NodePlan]:
    names = {*cluster.control_plane, *cluster.workers}
    return [n for n in plan(example).nodes if n.name in names]
