"""`strata pivot --to LAYER` and apply's automatic pivot: the target is the layer's own
cluster, reached as Strata's admin with a kubeconfig minted from the layer's CA the
store keeps (``strata.kube.material_store``, as `strata kubeconfig LAYER` mints one)
and pointed at the layer's endpoint (``controlPlaneEndpoint``: its VIP).

The kubeconfig is written beside the state, ``<state's dir>/<layer>.kubeconfig``,
mode 0600 (it holds a client key; the state beside it holds the CA's), and named by
the move's journal, so a rerun, ``--back`` or ``--abort`` finds it. Its certificate is
valid ``LIFETIME`` (as long as a move may hold its ends, ``ends.FREEZE_TTL``) and is
minted again at each ``--to LAYER``. Nothing is written when the layer is refused.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from strata.errors import StrataError
from strata.kube.material_store import layer_admin_kubeconfig, stored_material
from strata.plan import Plan
from strata.plan.model import ClusterPlan, UnknownLayer
from strata.store.clusters import ClusterSecretsStore
from strata.store.records import NodeSummary
from strata.store.state_file import write_private

__all__ = [
    "LIFETIME",
    "LayerTargetRefused",
    "layer_kubeconfig",
    "layer_kubeconfig_path",
    "not_joined",
    "pivot_layer",
    "target_kubeconfig",
]

LIFETIME = datetime.timedelta(days=30)


class LayerTargetRefused(StrataError):
    """``--to LAYER`` names no layer of the topology, a layer whose nodes are not all
    ``joined``, or one the state keeps no cluster PKI for. Nothing was written."""

    kind = "pivot-refused"
    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class _Source(ClusterSecretsStore, Protocol):
    def summaries(self) -> list[NodeSummary]: ...


def pivot_layer(plan: Plan) -> ClusterPlan | None:
    """The layer marked ``pivot: true`` (at most one: the topology's rules), or None."""
    return next((c for c in plan.clusters if c.pivot), None)


def layer_kubeconfig_path(state_dir: Path, layer: str) -> Path:
    return state_dir / f"{layer}.kubeconfig"


def not_joined(plan: ClusterPlan, store: _Source, seed_node: str | None = None) -> list[str]:
    """``node (state)`` for each of the layer's nodes not ``joined`` in ``store``, sorted;
    ``seed_node`` (the seed's own machine, held until after the pivot) is not waited for."""
    states = {s.name: s.state for s in store.summaries()}
    nodes = sorted(n for n in (*plan.control_plane, *plan.workers) if n != seed_node)
    return [f"{n} ({states.get(n, 'no record')})" for n in nodes if states.get(n) != "joined"]


def layer_kubeconfig(
    plan: Plan,
    layer: str,
    store: _Source,
    state_dir: Path,
    now: datetime.datetime,
    seed_node: str | None = None,
) -> Path:
    """The layer's kubeconfig written to ``layer_kubeconfig_path`` (0600, replaced
    whole), once the layer is found in ``plan``, every node of it ``joined`` and its
    PKI in ``store`` (``seed_node`` not waited for: ``not_joined``); ``LayerTargetRefused`` naming the layer otherwise (nothing
    written). The key is never printed."""
    try:
        cluster = plan.layer(layer)
    except UnknownLayer as unknown:
        raise LayerTargetRefused(str(unknown), unknown.hint) from None
    waiting = not_joined(cluster, store, seed_node)
    if waiting:
        raise LayerTargetRefused(
            f"layer {layer} is not joined: {', '.join(waiting)}",
            "the management plane moves into a layer's cluster once every node of it is "
            "joined: `strata apply` (until joined) first",
        )
    material = stored_material(store, layer)
    if material is None:
        raise LayerTargetRefused(
            f"the state keeps no cluster PKI for layer {layer}",
            "`strata apply` makes the layer's CA; without it there is no credential for its cluster",
        )
    text = layer_admin_kubeconfig(material, cluster.endpoint, now, LIFETIME)
    path = layer_kubeconfig_path(state_dir, layer)
    write_private(path, text)
    return path


def target_kubeconfig(
    file: Path, layer: str | None, store: _Source, state_dir: Path, say: Callable[[str], None]
) -> Path | None:
    """For `strata pivot`: LAYER's kubeconfig (``layer_kubeconfig``), or with no LAYER
    the one of FILE's layer marked ``pivot: true``; None when no LAYER is given and
    FILE is absent or marks none. Exits 1 on an invalid FILE (its findings said)."""
    from strata.cli.common import topology_or_exit
    from strata.plan import build_plan

    if layer is None and not file.exists():
        return None
    plan = build_plan(topology_or_exit(file))
    if layer is None:
        marked = pivot_layer(plan)
        if marked is None:
            return None
        layer = marked.name
        say(f"to layer {layer}'s cluster (marked pivot: true in {file})")
    now = datetime.datetime.now(datetime.UTC)
    path = layer_kubeconfig(plan, layer, store, state_dir, now)
    say(
        f"layer {layer}'s kubeconfig: {path} (0600; an admin certificate valid {LIFETIME.days} days)"
    )
    return path
