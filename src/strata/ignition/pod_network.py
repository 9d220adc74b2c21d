"""The Ignition files of Strata's pod network on a kubeadm node (``strata.kube.podnet``
computes it): the CNI network list, the kernel settings a bridged pod network needs, and
the static routes to the other nodes' pod subnets, written where the OS's own network
configuration keeps routes, so they come back with the interface at every boot and
every reconfiguration.

- **Routes, Flatcar** (systemd-networkd, systemd.network(5)): a drop-in
  ``10-strata-NAME.network.d/50-strata-pod-routes.conf`` beside the interface's
  ``.network`` unit (``strata.ignition.network``) with one ``[Route]`` section per route
  (``Destination=``, ``Gateway=``); networkd merges ``*.conf`` of a unit's ``.d``
  directory into it ("drop-in" files, systemd.network(5) DESCRIPTION;
  https://www.flatcar.org/docs/latest/setup/customization/network-config-with-networkd/).
- **Routes, Fedora CoreOS and RHEL CoreOS** (NetworkManager keyfiles,
  nm-settings-keyfile(5);
  https://docs.fedoraproject.org/en-US/fedora-coreos/sysconfig-network-configuration/):
  a keyfile has no drop-ins, so the interface's keyfile is written again, the same as
  ``strata.ignition.network`` writes it plus ``routeN=DEST,NEXT-HOP`` lines; merged
  after the node's network files, it replaces them (Ignition's merge keys files by path).
- **Kernel** ("Container Runtimes", Install and configure prerequisites,
  https://kubernetes.io/docs/setup/production-environment/container-runtimes/):
  ``br_netfilter`` loaded at boot (``/etc/modules-load.d``, modules-load.d(5)) and
  ``net.bridge.bridge-nf-call-iptables``/``ip6tables`` = 1 so kube-proxy's rules see
  traffic between pods on the node's bridge, and IP forwarding on for the pod network's
  IP version (``/etc/sysctl.d``,
  sysctl.d(5)), which the node needs to carry its pods' traffic to other nodes and
  kubeadm's preflight requires (``FileContent--proc-sys-net-ipv4-ip_forward``).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import ip_network
from typing import Any

from strata.ignition.build import BuildError
from strata.ignition.config import file
from strata.ignition.network import keyfile, networkd_path
from strata.kube.podnet import PodNetwork, PodNetworkError, PodRoute, pod_network, uses_pod_network
from strata.plan import ClusterPlan, NodePlan

__all__ = ["MODULES_PATH", "ROUTES_DROPIN", "SYSCTL_PATH", "node_pod_network", "pod_network_files"]

MODULES_PATH = "/etc/modules-load.d/strata-pod-network.conf"
SYSCTL_PATH = "/etc/sysctl.d/50-strata-pod-network.conf"
ROUTES_DROPIN = "50-strata-pod-routes.conf"
_SYSCTL = """\
# Strata's pod network (a bridge per node, routes between nodes)
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
{forwarding} = 1
"""
# IPv6 forwarding only for an IPv6 pod network: it turns off router advertisements
# (accept_ra) on the node's own interfaces (ip-sysctl.rst, "forwarding").
_FORWARDING = {4: "net.ipv4.ip_forward", 6: "net.ipv6.conf.all.forwarding"}


def node_pod_network(
    cluster: ClusterPlan, nodes: Iterable[NodePlan], node: NodePlan
) -> PodNetwork | None:
    """``node``'s pod network when its layer uses Strata's (a kubeadm layer whose
    podNetwork is not ``none``), else None; ``nodes``: the plan's nodes. Raises
    BuildError naming the node when the layer's pod network cannot be built (``strata
    validate`` refuses such a layer first)."""
    if not uses_pod_network(cluster):
        return None
    try:
        return pod_network(cluster, nodes, node)
    except PodNetworkError as exc:
        raise BuildError(f"{node.name}: {exc}") from None


def pod_network_files(node: NodePlan, network: PodNetwork, style: str) -> list[dict[str, Any]]:
    """The Ignition ``storage.files`` entries of ``node``'s pod network; ``style``: the
    OS profile's network configuration, ``networkd`` or ``nm-keyfile``. Raises
    ValueError for a route out of an interface the node does not have."""
    conflist = network.conflist
    version = ip_network(network.subnet).version
    files = [
        file(conflist.path, conflist.contents, conflist.mode),
        file(MODULES_PATH, "br_netfilter\n", 0o644),
        file(SYSCTL_PATH, _SYSCTL.format(forwarding=_FORWARDING[version]), 0o644),
    ]
    by_interface: dict[int, list[PodRoute]] = {}
    for route in network.routes:
        if not 0 <= route.interface < len(node.interfaces):
            raise ValueError(f"a pod route leaves by interface {route.interface}, which is none")
        by_interface.setdefault(route.interface, []).append(route)
    render = _dropin if style == "networkd" else _keyfile
    files += [render(node, index, routes) for index, routes in sorted(by_interface.items())]
    return files


def _dropin(node: NodePlan, index: int, routes: list[PodRoute]) -> dict[str, Any]:
    lines = ["# Strata's pod network: the other nodes' pod subnets via their addresses"]
    for route in routes:
        lines += ["", "[Route]", f"Destination={route.destination}", f"Gateway={route.gateway}"]
    path = f"{networkd_path(index, node.interfaces[index])}.d/{ROUTES_DROPIN}"
    return file(path, "\n".join(lines) + "\n", 0o644)


def _keyfile(node: NodePlan, index: int, routes: list[PodRoute]) -> dict[str, Any]:
    pairs = tuple((r.destination, r.gateway) for r in routes)
    return keyfile(index, node.interfaces[index], pairs)
