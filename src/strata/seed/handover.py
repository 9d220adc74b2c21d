"""The seed's own machine, provisioned last (issue 18; docs/seed.md, "The seed's own
machine").

While the seed runs, `strata apply --seed-node NODE` holds NODE at ``declared`` with no
BMC call (``ApplyOptions.seed_node``: the machine runs the seed, so it must not be
powered off or reset, and being on it is not "found running" either). Once the pivot has
switched the management plane into its layer's cluster, :func:`hand_over` writes the
consent a person would write, where anyone (and a GitOps tool) sees it: NODE added to
``spec.consent.allowReprovision`` of the Topology object there
(``strata.operator.consent``). The controller there then reaches NODE's BMC, finds it
on, and — consented — sets a one-time network boot and power-cycles it into the
install, like any other server. A pivot that failed or was rolled back hands nothing
over: NODE stays held and untouched.

The consent is a JSON merge patch (RFC 7386) carrying the object's ``resourceVersion``,
so a concurrent writer's change is never lost: on a conflict (409) it is read again,
up to ``TRIES`` times.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from strata.errors import StrataError
from strata.plan import Plan

__all__ = [
    "TRIES",
    "HandoverFailed",
    "hand_over",
    "held_line",
    "reinstall_line",
    "seed_node_refusal",
]

TRIES = 5


class HandoverFailed(StrataError):
    """The consent could not be written to the Topology object in the cluster."""

    kind = "seed-handover"
    exit_code = 1


def seed_node_refusal(plan: Plan, node: str) -> str | None:
    """Why ``node`` cannot be the seed's own machine (None: it can): the first
    control-plane node of its layer makes that layer's cluster (kubeadm init), and while
    it runs the seed nothing else can — its layer would never be joined, nor the pivot
    into it made, nor the machine handed over."""
    for cluster in plan.clusters:
        if cluster.control_plane and cluster.control_plane[0] == node:
            return (
                f"node {node} is the first control plane of layer {cluster.name} (it makes "
                "the cluster): while it runs the seed that layer cannot form; name a worker, "
                "or another node of the topology"
            )
    return None


def held_line(node: str, layer: str | None, skipped: bool = False) -> str:
    """What the plan (and a seed's dry run) says of the seed's own machine: ``layer``
    the one marked ``pivot: true`` (None: none is), ``skipped`` when this run does not
    pivot into it (``--no-pivot``, ``--until provisioned``)."""
    if layer is None:
        return (
            f"{node}: the seed's own machine (this one): held, untouched; the topology "
            "marks no layer pivot: true, so nothing provisions it after this run"
        )
    if skipped:
        return (
            f"{node}: the seed's own machine (this one): held, untouched; this run does not "
            f"pivot into layer {layer}, so nothing hands it over"
        )
    return (
        f"{node}: the seed's own machine (this one): held, untouched, until the pivot into "
        f"layer {layer}; then {node} is written to spec.consent.allowReprovision of the "
        f"Topology there, and the controller there reinstalls it through its BMC"
    )


def reinstall_line(node: str, layer: str, bmc: str) -> str:
    """What the seed says once it has handed its machine over."""
    return (
        f"this machine ({node}) is about to be reinstalled: the controller in layer {layer}'s "
        f"cluster power-cycles it through its BMC ({bmc}) and provisions it like any "
        "other server; the seed's work is done"
    )


def hand_over(
    kubeconfig: Path, namespace: str, topology: str, node: str, say: Callable[[str], None]
) -> list[str]:
    """Adds ``node`` to ``spec.consent.allowReprovision`` of ``topologies/<topology>`` in
    ``namespace`` of the cluster ``kubeconfig`` reaches (kept when there already);
    returns the list as stored. Raises ``HandoverFailed`` naming the object and the
    API server's reason (no object, refused, not reached, conflicts ``TRIES`` times)."""
    import httpx2  # lightkube's HTTP client
    from lightkube import ApiError, ConfigError
    from lightkube.types import PatchType

    from strata.operator.resources import TOPOLOGY, kube_client

    where = f"topologies/{topology} in namespace {namespace}"
    try:
        client = kube_client(kubeconfig, namespace)
        for _ in range(TRIES):
            found = client.get(TOPOLOGY, topology, namespace=namespace)
            version = found.metadata.resourceVersion if found.metadata else None
            spec: dict[str, Any] = found.get("spec") or {}
            consent = spec.get("consent") or {}
            allowed = list(consent.get("allowReprovision") or [])
            if node in allowed:
                say(f"hand-over: {where} already allows reinstalling {node}")
                return allowed
            patch = {
                "metadata": {"resourceVersion": version},
                "spec": {"consent": {"allowReprovision": [*allowed, node]}},
            }
            try:
                client.patch(
                    TOPOLOGY, topology, patch, namespace=namespace, patch_type=PatchType.MERGE
                )
            except ApiError as err:
                if err.status.code == 409:
                    continue  # written meanwhile: read it again
                raise
            say(f"hand-over: {where}: spec.consent.allowReprovision += {node}")
            return [*allowed, node]
    except ApiError as err:
        raise HandoverFailed(f"{where}: the API server refused: {err.status.message}") from None
    except (httpx2.HTTPError, ConfigError, OSError, StrataError) as err:
        raise HandoverFailed(f"{where}: not reached: {err}") from None
    raise HandoverFailed(f"{where}: changed by another writer {TRIES} times in a row")
