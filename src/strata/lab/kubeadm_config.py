"""A machine's kubeadm configuration as kubeadm reads it (``kubeadm.k8s.io`` v1beta3
and v1beta4: https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/):
the lab acts on what ``kubeadm init`` or ``kubeadm join`` would, from the file the
machine's Ignition wrote, and from nothing else.

v1beta4 spells ``extraArgs`` and ``kubeletExtraArgs`` as lists of ``{name, value}``,
v1beta3 as maps; both read here as maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from strata.lab.kube_processes import LabKubeError

__all__ = ["KubeadmConfig", "parse_kubeadm"]

KUBEADM_CONFIG = "/etc/strata/kubeadm.yaml"  # where Strata's Ignition writes it
GROUP = "kubeadm.k8s.io/"


@dataclass(frozen=True)
class KubeadmConfig:
    """The documents of one kubeadm config file, by kind (``InitConfiguration``,
    ``ClusterConfiguration``, ``JoinConfiguration``), each a plain dict."""

    documents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def init(self) -> Mapping[str, Any] | None:
        return self.documents.get("InitConfiguration")

    @property
    def join(self) -> Mapping[str, Any] | None:
        return self.documents.get("JoinConfiguration")

    @property
    def cluster(self) -> Mapping[str, Any]:
        return self.documents.get("ClusterConfiguration") or {}

    @property
    def registration(self) -> Mapping[str, Any]:
        """``nodeRegistration`` of the init or join document."""
        found = (self.init or self.join or {}).get("nodeRegistration")
        return found or {}

    @property
    def node_name(self) -> str:
        name = self.registration.get("name")
        if not name:
            raise LabKubeError("the kubeadm config names no node (nodeRegistration.name)")
        return str(name)

    def kubelet_args(self) -> dict[str, str]:
        """``nodeRegistration.kubeletExtraArgs``: flags kubeadm hands the kubelet."""
        return args_map(self.registration.get("kubeletExtraArgs"))

    def extra_args(self, component: str) -> dict[str, str]:
        """``ClusterConfiguration.<component>.extraArgs`` (``apiServer``,
        ``controllerManager``)."""
        return args_map((self.cluster.get(component) or {}).get("extraArgs"))

    def endpoint(self) -> tuple[str, int]:
        """The cluster's API endpoint, host and port: ``controlPlaneEndpoint`` on the
        init node, ``discovery.bootstrapToken.apiServerEndpoint`` on a joining one."""
        if self.join is not None:
            text = str(self.discovery().get("apiServerEndpoint") or "")
        else:
            text = str(self.cluster.get("controlPlaneEndpoint") or "")
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise LabKubeError(f"the kubeadm config's API endpoint {text!r} is not HOST:PORT")
        return host.strip("[]"), int(port)

    def discovery(self) -> Mapping[str, Any]:
        found = ((self.join or {}).get("discovery") or {}).get("bootstrapToken")
        if not found:
            raise LabKubeError("the JoinConfiguration has no discovery.bootstrapToken")
        return dict(found)


def args_map(value: object) -> dict[str, str]:
    if isinstance(value, list):  # v1beta4
        return {str(a["name"]): str(a["value"]) for a in value}
    if isinstance(value, dict):  # v1beta3
        return {str(k): str(v) for k, v in value.items()}
    return {}


def parse_kubeadm(text: str) -> KubeadmConfig:
    """Reads a kubeadm config file (YAML, one or more documents). Raises
    ``LabKubeError`` if it is not YAML or holds no kubeadm document."""
    try:
        loaded = [d for d in YAML(typ="safe").load_all(StringIO(text)) if d]
    except YAMLError as err:
        raise LabKubeError(f"{KUBEADM_CONFIG} is not YAML: {err}") from None
    documents = {
        str(d.get("kind")): d
        for d in loaded
        if isinstance(d, dict) and str(d.get("apiVersion", "")).startswith(GROUP)
    }
    if not documents:
        raise LabKubeError(f"{KUBEADM_CONFIG} holds no {GROUP} document")
    return KubeadmConfig(documents)
