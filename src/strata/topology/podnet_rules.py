"""Strata's pod network, checked at validate: a kubeadm layer whose ``podNetwork`` is
``strata`` (the default) must have room in its ``podCIDR`` for a pod subnet per node,
derived from each node's static address without two nodes on one subnet
(``strata.kube.podnet`` says how and why). Found here, a layer too small or a node
without an address is one line of ``strata validate`` instead of a Node NotReady, or
pods that cannot reach each other, after the install.

Errors are reported at the layer's ``podCIDR``; so is one warning naming the nodes
without a static address of the podCIDR's IP version (DHCP nodes): Strata cannot route
to them, so they get no pod network. A ``podNetwork`` on a k3s layer, which runs k3s's
own flannel, is refused at that field.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_interface

from strata.kube.podnet import Address, Member, pod_network_problems, unrouted
from strata.topology.diagnostics import Diagnostics
from strata.topology.model import Node, Topology
from strata.topology.spec import NetworkSpec, TopologySpec

__all__ = ["check_pod_network"]


def check_pod_network(spec: TopologySpec, topology: Topology, diags: Diagnostics) -> None:
    """One finding per problem of each kubeadm layer's pod network, at its line."""
    by_layer: dict[str, list[Node]] = {}
    for node in topology.nodes:
        by_layer.setdefault(node.layer, []).append(node)
    for i, layer in enumerate(spec.layers):
        if layer.distribution.name != "kubeadm":
            if layer.pod_network is not None:
                diags.error(
                    ("layers", i, "podNetwork"),
                    "podNetwork is for kubeadm layers; k3s runs its own flannel",
                    "remove podNetwork (k3s's flannel-backend setting chooses its network)",
                )
            continue
        if layer.pod_network == "none":
            continue
        members = [_member(n, topology.networks) for n in by_layer.get(layer.name, [])]
        cidr, vip = str(layer.pod_cidr), str(layer.endpoint.vip)
        for problem in pod_network_problems(cidr, members, vip):
            diags.error(("layers", i, "podCIDR"), problem.message, problem.hint)
        _warn_unrouted(diags, i, layer.pod_cidr.version, unrouted(cidr, members, vip))


def _warn_unrouted(diags: Diagnostics, i: int, version: int, names: list[str]) -> None:
    """One warning for the layer's nodes that get no pod network."""
    if not names:
        return
    who = f"{len(names)} nodes (e.g. {names[0]})" if len(names) > 1 else f"node {names[0]}"
    diags.warning(
        ("layers", i, "podCIDR"),
        f"{who} of the layer have no static IPv{version} address: Strata cannot route their "
        "pod subnets and installs no pod network on them; they stay NotReady until a CNI "
        "plugin is installed",
        "give them a static address on the VIP's network, or set podNetwork: none and "
        "install a CNI plugin for the whole layer",
    )


def _member(node: Node, networks: Mapping[str, NetworkSpec]) -> Member:
    """The node's static addresses with their network's prefix, in NIC order."""
    addresses: list[Address | None] = []
    for nic in node.nics:
        net = networks.get(nic.network)
        static = nic.ip is not None and net is not None
        addresses.append(ip_interface(f"{nic.ip}/{net.cidr.prefixlen}") if net and static else None)
    return Member(node.name, tuple(addresses))
