"""Node labels the kubelet refuses to register: caught at validate, where the label is
written, instead of a node that fails to join at boot.

Strata hands a node's labels to its kubelet as ``--node-labels`` (strata.kube.node:
kubeadm's ``kubeletExtraArgs``, k3s's ``node-label``, which k3s passes on as the
kubelet's ``--node-labels``). The kubelet checks them before it starts
(kubernetes/kubernetes cmd/kubelet/app/options/options.go, ``ValidateKubeletFlags``): a
key whose prefix is ``kubernetes.io`` or ``k8s.io``, or a subdomain of either
(``isKubernetesLabel``), must be one a kubelet may set on its own Node
(``IsKubeletLabel``, staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go): one of
``KUBELET_LABELS``, or under ``kubelet.kubernetes.io`` or ``node.kubernetes.io`` or a
subdomain of them. Any other such key stops the kubelet with "unknown 'kubernetes.io' or
'k8s.io' labels specified with --node-labels" (the --node-labels flag,
https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/). The same
rule is what the NodeRestriction admission plugin enforces on a Node a kubelet creates
(plugin/pkg/admission/noderestriction/admission.go), so k3s's agent, which registers
through the same kubelet, fares no better.

``node-role.kubernetes.io/<role>`` is the usual casualty: ``kubectl get nodes`` shows it
as ROLES, but only the cluster's administrators may set it (``kubectl label``) — kubeadm
itself sets ``node-role.kubernetes.io/control-plane`` with admin credentials after the
kubelet registered. Strata's own labels (``topology.kubernetes.io/region`` and ``/zone``,
``strata.dev/rack``) are ones the kubelet may set.

Labels are checked where they are written (``defaults``, a region's, zone's or rack's
``defaults``, or a node), once: labels merge key by key down the tree and none is taken
away, so every node below carries the key.
"""

from __future__ import annotations

from strata.topology.diagnostics import Diagnostics
from strata.topology.spec import TopologySpec
from strata.topology.written import written_settings

__all__ = ["KUBELET_LABELS", "KUBELET_NAMESPACES", "check_kubelet_labels", "kubelet_refuses"]

KUBELET_LABELS = frozenset(
    {
        # well_known_labels.go kubeletLabels, with the values of the k8s.io/api/core/v1
        # constants it names (staging/src/k8s.io/api/core/v1/well_known_labels.go).
        "kubernetes.io/hostname",  # LabelHostname
        "topology.kubernetes.io/zone",  # LabelTopologyZone
        "topology.kubernetes.io/region",  # LabelTopologyRegion
        "failure-domain.beta.kubernetes.io/zone",  # LabelFailureDomainBetaZone
        "failure-domain.beta.kubernetes.io/region",  # LabelFailureDomainBetaRegion
        "beta.kubernetes.io/instance-type",  # LabelInstanceType
        "node.kubernetes.io/instance-type",  # LabelInstanceTypeStable
        "kubernetes.io/os",  # LabelOSStable
        "kubernetes.io/arch",  # LabelArchStable
        "beta.kubernetes.io/os",  # LabelOS
        "beta.kubernetes.io/arch",  # LabelArch
    }
)
"""The kubernetes.io keys a kubelet may set on its own Node."""

KUBELET_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
"""Prefixes (and their subdomains) under which a kubelet may set any key
(LabelNamespaceSuffixKubelet, LabelNamespaceSuffixNode)."""

_RESERVED = ("kubernetes.io", "k8s.io")
_ROLE = "node-role.kubernetes.io"
_RESTRICTED = "node-restriction.kubernetes.io"  # LabelNamespaceNodeRestriction
_ALLOWED = (
    "the kubelet may set only keys under node.kubernetes.io/ or kubelet.kubernetes.io/ and "
    "the well-known kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch, "
    "topology.kubernetes.io/region and topology.kubernetes.io/zone"
)


def _in(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def kubelet_refuses(key: str) -> bool:
    """True for a label key the kubelet refuses in ``--node-labels``: in the kubernetes.io
    or k8s.io namespace and not one a kubelet may set (``IsKubeletLabel``)."""
    namespace, slash, _ = key.partition("/")
    if not slash or not any(_in(namespace, domain) for domain in _RESERVED):
        return False
    if key in KUBELET_LABELS:
        return False
    return not any(_in(namespace, allowed) for allowed in KUBELET_NAMESPACES)


def check_kubelet_labels(spec: TopologySpec, diags: Diagnostics) -> None:
    """One error at each written label key the kubelet would refuse."""
    for path, settings in written_settings(spec):
        for key in settings.labels or {}:
            if kubelet_refuses(key):
                message, hint = _why(key)
                diags.error((*path, "labels", key), message, hint, key=True)


def _why(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    refused = (
        f"the kubelet refuses '{key}' in --node-labels, so nodes with it would fail to join: "
        f"keys under kubernetes.io and k8s.io are set by the cluster"
    )
    if _in(namespace, _ROLE):
        return refused, (
            f"only the cluster's administrators may set node-role.kubernetes.io/ labels: give "
            f"the nodes a key of your own, e.g. example.com/role: {name or 'ROLE'}, and run "
            f"`kubectl label node NODE {key}=` once they joined; {_ALLOWED}"
        )
    if _in(namespace, _RESTRICTED):
        return refused, (
            "node-restriction.kubernetes.io/ is kept for labels a kubelet must not set "
            "(the NodeRestriction admission plugin); set it with `kubectl label node`"
        )
    return refused, f"use a prefix of your own, e.g. example.com/{name}; {_ALLOWED}"
