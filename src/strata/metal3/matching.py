"""Which cluster and role a BareMetalHost serves, as Cluster API says it, for hosts that
carry no ``strata.dev/layer`` label (hosts Metal3 users wrote themselves).

CAPM3 picks a host for a Machine by its Metal3MachineTemplate's
``spec.template.spec.hostSelector`` (Metal3MachineTemplate CRD,
infrastructure.cluster.x-k8s.io): every ``matchLabels`` pair and every
``matchExpressions`` requirement must hold (``selects``). The template is a control-plane one when a
KubeadmControlPlane's ``spec.machineTemplate.infrastructureRef`` names it, a worker one
when a MachineDeployment's ``spec.template.spec.infrastructureRef`` does; the cluster is
the Cluster whose ``controlPlaneRef`` names that KubeadmControlPlane, or the
MachineDeployment's ``spec.clusterName``.
"""

from __future__ import annotations

from typing import Any

from strata.metal3.reading import CapiObject, Host, Inputs
from strata.metal3.selectors import selects

__all__ = ["cluster_parts", "served"]


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _bodies(inputs: Inputs, kind: str) -> dict[str, dict[str, Any]]:
    return {name: obj.body for name, obj in inputs.clusters.get(kind, {}).items()}


SELECTOR = ("spec", "template", "spec", "hostSelector")


def served(host: Host, inputs: Inputs) -> tuple[str, str] | None:
    """(cluster name, ``control-plane`` or ``worker``) of the first template whose
    ``hostSelector`` selects the host (an empty or absent one selects none here: it
    names no cluster's hosts); None when none does. ``ImportError_`` at the requirement
    for an operator CAPM3 would refuse."""
    templates: dict[str, CapiObject] = inputs.clusters.get("Metal3MachineTemplate", {})
    for name, template in templates.items():
        selector = _get(template.body, *SELECTOR)
        if not isinstance(selector, dict) or not selects(selector, host.labels, template, SELECTOR):
            continue
        found = _user(name, inputs)
        if found is not None:
            return found
    return None


def _user(template: str, inputs: Inputs) -> tuple[str, str] | None:
    for name, control in _bodies(inputs, "KubeadmControlPlane").items():
        if _get(control, "spec", "machineTemplate", "infrastructureRef", "name") == template:
            return _cluster_of(name, inputs), "control-plane"
    for deployment in _bodies(inputs, "MachineDeployment").values():
        if _get(deployment, "spec", "template", "spec", "infrastructureRef", "name") == template:
            cluster = _get(deployment, "spec", "clusterName")
            if isinstance(cluster, str) and cluster:
                return cluster, "worker"
    return None


def _cluster_of(control_plane: str, inputs: Inputs) -> str:
    for name, cluster in _bodies(inputs, "Cluster").items():
        if _get(cluster, "spec", "controlPlaneRef", "name") == control_plane:
            return name
    return control_plane


def cluster_parts(layer: str, inputs: Inputs) -> dict[str, str]:
    """The names of the layer's Cluster, Metal3Cluster and KubeadmControlPlane: the
    Cluster named as the layer, and what its ``infrastructureRef`` and
    ``controlPlaneRef`` name (the layer's name when it names none)."""
    cluster = _bodies(inputs, "Cluster").get(layer)
    infrastructure = _get(cluster, "spec", "infrastructureRef", "name")
    control = _get(cluster, "spec", "controlPlaneRef", "name")
    return {
        "Cluster": layer,
        "Metal3Cluster": infrastructure if isinstance(infrastructure, str) else layer,
        "KubeadmControlPlane": control if isinstance(control, str) else layer,
    }
