"""Rules about the Kubernetes each layer asks for, caught at validate instead of when a
node first runs kubeadm or k3s: a version Strata supports for the layer's distribution,
spelled as that distribution names its releases (strata.kube.versions says which and why);
an ``imageRepository`` that is a registry, not a URL; node labels the kubelet would refuse
(kubelet_labels).
"""

from __future__ import annotations

import re

from strata.kube.versions import VersionError, supported_version
from strata.topology.diagnostics import Diagnostics
from strata.topology.kubelet_labels import check_kubelet_labels
from strata.topology.spec import IMAGE_REPOSITORY, MAX_IMAGE_REPOSITORY, TopologySpec

__all__ = ["check_kube", "image_repository_problem"]

_REPOSITORY = re.compile(IMAGE_REPOSITORY)
_EXAMPLE = "write the registry as host[:port][/path], e.g. registry.dc.example:5000/k8s"


def check_kube(spec: TopologySpec, diags: Diagnostics) -> None:
    """One finding per layer whose distribution.version Strata cannot build, or whose
    imageRepository is not a registry, at its line; one per refused node label."""
    for i, layer in enumerate(spec.layers):
        try:
            supported_version(layer.distribution.name, layer.distribution.version)
        except VersionError as exc:
            diags.error(("layers", i, "distribution", "version"), exc.message, exc.hint)
        if layer.image_repository is not None:
            problem = image_repository_problem(layer.image_repository)
            if problem is not None:
                diags.error(("layers", i, "imageRepository"), *problem)
    check_kubelet_labels(spec, diags)


def image_repository_problem(value: str) -> tuple[str, str] | None:
    """Why ``value`` is not a registry mirror kubeadm, k3s and a Pod's image can name
    (message, hint), or None. kubeadm and k3s put it before each image's own path
    (``{imageRepository}/kube-apiserver:v1.31.2``), so it has no scheme, tag or digest."""
    if len(value) > MAX_IMAGE_REPOSITORY:
        return (
            f"imageRepository has {len(value):,} characters; at most "
            f"{MAX_IMAGE_REPOSITORY} are allowed",
            "an image's name is at most 255 characters, its own path included; " + _EXAMPLE,
        )
    if "://" in value:
        scheme = value.split("://", 1)[0]
        return (
            f"imageRepository names a registry, not a URL: drop '{scheme}://'",
            "container runtimes reach a registry over HTTPS; " + _EXAMPLE,
        )
    if value.endswith("/"):
        return "imageRepository ends with '/'", _EXAMPLE
    if "@" in value or ("/" in value and ":" in value.rpartition("/")[2]):
        return (
            "imageRepository has a tag or digest; each image brings its own",
            _EXAMPLE,
        )
    match = _REPOSITORY.match(value)
    if match is None:
        return (
            "imageRepository is not a registry host[:port][/path]",
            _EXAMPLE + "; path components are lowercase letters, digits and . _ -",
        )
    host = value.split("/", 1)[0]
    port = host.partition("]")[2][1:] if host.startswith("[") else host.partition(":")[2]
    if port and not 1 <= int(port) <= 65535:
        return f"imageRepository's port {port} is outside 1-65535", _EXAMPLE
    return None
