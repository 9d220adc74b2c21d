"""Rules about the Kubernetes each layer asks for, caught at validate instead of when a
node first runs kubeadm or k3s: a version Strata supports for the layer's distribution,
spelled as that distribution names its releases (strata.kube.versions says which and why).
"""

from __future__ import annotations

from strata.kube.versions import VersionError, supported_version
from strata.topology.diagnostics import Diagnostics
from strata.topology.spec import TopologySpec

__all__ = ["check_kube"]


def check_kube(spec: TopologySpec, diags: Diagnostics) -> None:
    """One finding per layer whose distribution.version Strata cannot build, at its line."""
    for i, layer in enumerate(spec.layers):
        try:
            supported_version(layer.distribution.name, layer.distribution.version)
        except VersionError as exc:
            diags.error(("layers", i, "distribution", "version"), exc.message, exc.hint)
