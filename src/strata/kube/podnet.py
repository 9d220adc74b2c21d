"""Strata's pod network for kubeadm layers: flannel's host-gw backend, computed once from
the plan instead of by a daemon. Pure: the layer's nodes and addresses in, values out.

Each node gets a pod subnet from the layer's ``podCIDR`` (``/24`` per node for IPv4,
``/64`` for IPv6: kube-controller-manager's ``--node-cidr-mask-size`` defaults), a CNI
network list that gives its pods addresses from that subnet on a Linux bridge, and one
static route per other node of the layer it shares a network with: that node's pod
subnet via that node's address. No container image, no daemon, nothing to pull: an
air-gapped datacenter needs nothing more than the CNI plugins the OS or the Kubernetes
sysext already bring.

**Which subnet.** A node's *pod address* is its static address on the network that
holds the layer's VIP (the address kubeadm advertises), else its first static address.
Its subnet is number ``host % slots`` of the podCIDR's ``slots`` subnets, ``host`` being
the pod address's host number in its network (``192.168.110.11/24`` is host 11, so with
``10.244.0.0/16`` its pods are in ``10.244.11.0/24``). The subnet is a function of the
node's own address and the podCIDR alone: adding or removing a node renumbers no other
node (stored state would be needed for a dense, stable allocation; Strata's plan is
pure), and a node network that fits in the podCIDR's count of subnets (a /24 of nodes
and a /16 of pods) never clashes. ``pod_network_problems`` names what makes it
impossible — a podCIDR smaller than one node's subnet or than the layer's nodes, two
nodes whose addresses fall on the same subnet — and ``strata validate`` refuses the
layer (``strata.topology.podnet_rules``). A node without a static address of the
podCIDR's IP version (DHCP) is ``unrouted``: no one knows where to route its pods, so
it gets no pod network (validate warns).

**Routes** go to the nodes on a network this node has an address on (the same L2
segment: the next hop must be on-link). Nodes of the layer on other networks are not
routed to — a routed multi-network layer needs a real CNI (``podNetwork: none``). The
routes are part of each node's installed configuration: a node added later is routed
to by the nodes installed after it, not by those already running (docs/kubernetes.md,
"Pod network").

**The network list** (``CONFLIST_PATH``, CNI spec
https://github.com/containernetworking/cni/blob/main/SPEC.md, "Network configuration
lists"): the reference ``bridge`` plugin (https://www.cni.dev/plugins/current/main/bridge/)
with ``isGateway`` (the bridge holds the subnet's first address, the pods' default
gateway, and the plugin turns IP forwarding on), ``ipMasq`` (traffic leaving the node's
subnet is source-NATed to the node: pods reach the outside; so is pod-to-pod traffic
between nodes, which arrives from the sending node's address), ``hairpinMode`` (a pod
reaches itself through a Service, as flannel sets it), IPAM ``host-local``
(https://www.cni.dev/plugins/current/ipam/host-local/) on the node's subnet with a
default route; then ``portmap`` (https://www.cni.dev/plugins/current/meta/portmap/) for
``hostPort``. Laid out as containerd's own example network list
(containerd docs/cri/config.md / ``script/setup/install-cni``). ``loopback`` is not in
the list: containerd's CRI plugin and CRI-O set up each pod's ``lo`` themselves with the
loopback plugin. cniVersion ``0.4.0``: libcni reads it from 0.7 on (containerd 1.6 and
1.7 vendor libcni 1.x) and the reference plugins from 0.8 on (Debian's 1.1.1 lists it
under ``CNI_COMMAND=VERSION``); ``1.0.0`` would add nothing this list uses and shut out
a runtime whose libcni predates 1.0 (containerd 1.5, which Kubernetes 1.22 still ran on).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface, ip_network
from ipaddress import IPv4Interface as V4If
from ipaddress import IPv4Network as V4Net
from ipaddress import IPv6Interface as V6If
from ipaddress import IPv6Network as V6Net
from typing import TYPE_CHECKING, Any

from strata.kube.endpoint import parse_endpoint
from strata.kube.files import ConfigFile

if TYPE_CHECKING:
    from strata.plan.model import ClusterPlan, NodePlan

__all__ = [
    "CNI_VERSION",
    "CONFLIST_PATH",
    "NODE_PREFIX",
    "Address",
    "Member",
    "PodNetwork",
    "PodNetworkError",
    "PodRoute",
    "Problem",
    "conflist",
    "pod_network",
    "pod_network_problems",
    "pod_subnets",
    "unrouted",
    "uses_pod_network",
]

CONFLIST_PATH = "/etc/cni/net.d/10-strata.conflist"
"""Where the node's runtime reads it (containerd's and CRI-O's ``conf_dir`` default). The
runtime takes the first file of that directory in lexical order: a CNI installed later
(``05-cilium.conflist``, ``10-calico.conflist``, ``10-flannel.conflist``) sorts first."""
CNI_VERSION = "0.4.0"
NETWORK_NAME = "strata"
BRIDGE = "cni0"
NODE_PREFIX = {4: 24, 6: 64}
"""The pod subnet's prefix length per IP version."""

Address = V4If | V6If
Network = V4Net | V6Net


class PodNetworkError(ValueError):
    """The layer's pod network cannot be built; ``str()`` is the first problem."""


@dataclass(frozen=True, slots=True)
class Member:
    """A node of the layer as the pod network sees it: its name and its interfaces'
    static addresses with their network's prefix, in interface order (None: DHCP)."""

    name: str
    addresses: tuple[Address | None, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the layer's pod network cannot be built: a message and a hint."""

    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class PodRoute:
    """One static route on a node: ``destination`` (another node's pod subnet, CIDR) via
    ``gateway`` (that node's address) out of this node's interface number ``interface``
    (an index into ``NodePlan.interfaces``)."""

    destination: str
    gateway: str
    interface: int


@dataclass(frozen=True, slots=True)
class PodNetwork:
    """What one node gets: its pod ``subnet``, its CNI network list, its routes."""

    subnet: str
    conflist: ConfigFile
    routes: tuple[PodRoute, ...]


def uses_pod_network(cluster: ClusterPlan) -> bool:
    """True for a kubeadm layer whose podNetwork is Strata's (k3s brings flannel)."""
    return cluster.distribution == "kubeadm" and cluster.pod_network == "strata"


def pod_network(
    cluster: ClusterPlan, nodes: Iterable[NodePlan], node: NodePlan
) -> PodNetwork | None:
    """``node``'s pod network in ``cluster``, ``nodes`` holding at least the layer's
    members (others are ignored); None for a node with no static address of the
    podCIDR's IP version (``unrouted``: Strata cannot route to it). Raises
    PodNetworkError when the layer's pod network cannot be built
    (``pod_network_problems``) or ``node`` is not a member."""
    members, vip = _members(cluster, nodes), _vip(cluster)
    this = next((m for m in members if m.name == node.name), None)
    if this is None:
        raise PodNetworkError(f"node {node.name} is not a member of layer {cluster.name}")
    subnets = pod_subnets(cluster.pod_cidr, members, vip)
    subnet = subnets.get(this.name)
    if subnet is None:
        return None
    return PodNetwork(str(subnet), conflist(subnet), _routes(this, members, subnets, vip))


def pod_subnets(pod_cidr: str, members: Sequence[Member], vip: str) -> dict[str, Network]:
    """The pod subnet of each member that has one (not ``unrouted``), by name. Raises
    PodNetworkError with the first of ``pod_network_problems``."""
    problems = pod_network_problems(pod_cidr, members, vip)
    if problems:
        raise PodNetworkError(problems[0].message)
    pool = ip_network(pod_cidr)
    routed = _routed(members, vip, pool.version)
    return {name: _subnet(pool, address) for name, (_, address) in routed.items()}


def unrouted(pod_cidr: str, members: Sequence[Member], vip: str) -> list[str]:
    """The members without a static address of the podCIDR's IP version: Strata knows no
    address to route their pod subnet to, so they get no pod network (DHCP nodes)."""
    routed = _routed(members, vip, ip_network(pod_cidr).version)
    return [m.name for m in members if m.name not in routed]


def pod_network_problems(pod_cidr: str, members: Sequence[Member], vip: str) -> list[Problem]:
    """Every reason the layer's pod subnets cannot be assigned; [] when they can: a
    podCIDR smaller than one node's subnet or with fewer subnets than routed members,
    or two members whose addresses fall on the same subnet."""
    pool = ip_network(pod_cidr)
    prefix = NODE_PREFIX[pool.version]
    if pool.prefixlen > prefix:
        message = f"podCIDR {pool} is smaller than one node's pod subnet (/{prefix})"
        return [Problem(message, f"each node gets a /{prefix}: widen podCIDR" + _OWN_CNI)]
    slots = 2 ** (prefix - pool.prefixlen)
    routed = _routed(members, vip, pool.version)
    if len(routed) > slots:
        message = (
            f"podCIDR {pool} holds {slots} node subnet{'s' * (slots > 1)} of /{prefix}, "
            f"but the layer has {len(routed)} nodes"
        )
        hint = f"widen podCIDR to /{_fitting(len(routed), prefix)} or more" + _OWN_CNI
        return [Problem(message, hint)]
    return _collisions(pool, routed)


_OWN_CNI = ", or set podNetwork: none and install a CNI plugin yourself"


def conflist(subnet: Network) -> ConfigFile:
    """The CNI network list for a node whose pods live in ``subnet`` (0644: no secret)."""
    default = "0.0.0.0/0" if subnet.version == 4 else "::/0"
    bridge: dict[str, Any] = {
        "type": "bridge",
        "bridge": BRIDGE,
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": str(subnet)}]],
            "routes": [{"dst": default}],
        },
    }
    portmap = {"type": "portmap", "capabilities": {"portMappings": True}}
    document = {"cniVersion": CNI_VERSION, "name": NETWORK_NAME, "plugins": [bridge, portmap]}
    return ConfigFile(CONFLIST_PATH, json.dumps(document, indent=2) + "\n", 0o644)


def _members(cluster: ClusterPlan, nodes: Iterable[NodePlan]) -> list[Member]:
    """The layer's members in the plan's order, with their static addresses."""
    names = {*cluster.control_plane, *cluster.workers}
    return [
        Member(n.name, tuple(ip_interface(i.address) if i.address else None for i in n.interfaces))
        for n in nodes
        if n.name in names
    ]


def _vip(cluster: ClusterPlan) -> str:
    return str(parse_endpoint(cluster.endpoint).vip)


def _routed(members: Sequence[Member], vip: str, version: int) -> dict[str, tuple[int, Address]]:
    """By name, each member's pod address (interface index, address): its static address
    of ``version`` on the VIP's network, else its first of ``version``; members without
    one are left out."""
    target = ip_address(vip)
    routed = {}
    for member in members:
        static = [
            (i, a) for i, a in enumerate(member.addresses) if a is not None and a.version == version
        ]
        on_vip = [(i, a) for i, a in static if a.version == target.version and target in a.network]
        if static:
            routed[member.name] = (on_vip or static)[0]
    return routed


def _host(address: Address) -> int:
    return int(address.ip) - int(address.network.network_address)


def _subnet(pool: Network, address: Address) -> Network:
    prefix = NODE_PREFIX[pool.version]
    slots = 2 ** (prefix - pool.prefixlen)
    size = 2 ** (pool.max_prefixlen - prefix)
    base = int(pool.network_address) + (_host(address) % slots) * size
    return type(pool)((base, prefix))


def _collisions(pool: Network, routed: dict[str, tuple[int, Address]]) -> list[Problem]:
    """One problem for all the members whose pod addresses land on a subnet another
    address took (two nodes with one address: ``strata validate`` reports that itself)."""
    owner: dict[Network, tuple[str, IPv4Address | IPv6Address]] = {}
    clashes: list[str] = []
    for name, (_, address) in routed.items():
        subnet = _subnet(pool, address)
        first = owner.setdefault(subnet, (name, address.ip))
        if first[1] != address.ip:  # one address twice is a mistake of its own
            clashes.append(
                f"{first[0]} ({first[1]}) and {name} ({address.ip}) would both get {subnet}"
            )
    if not clashes:
        return []
    slots = 2 ** (NODE_PREFIX[pool.version] - pool.prefixlen)
    count = f"{len(clashes)} nodes" if len(clashes) > 1 else "a node"
    return [
        Problem(
            f"podCIDR {pool}: {count} of the layer would share another's pod subnet, "
            f"e.g. {clashes[0]}",
            f"a node's pod subnet is number (its address's host number) modulo {slots}, the "
            "podCIDR's count of node subnets: widen podCIDR, or renumber the nodes" + _OWN_CNI,
        )
    ]


def _fitting(count: int, prefix: int) -> int:
    """The longest podCIDR prefix with room for ``count`` node subnets of ``/prefix``."""
    return prefix - (count - 1).bit_length()


def _routes(
    this: Member, members: Sequence[Member], subnets: dict[str, Network], vip: str
) -> tuple[PodRoute, ...]:
    """A route to every other routed member's subnet via its pod address, out of this
    node's interface on that address's network; a member on no network of this node's
    is left out (it is routed, not on the same L2: a real CNI's job)."""
    version = next(iter(subnets.values())).version
    routed = _routed(members, vip, version)
    routes = []
    for name, (_, gateway) in routed.items():
        if name == this.name:
            continue
        local = next(
            (i for i, a in enumerate(this.addresses) if a is not None and gateway.ip in a.network),
            None,
        )
        if local is not None:
            routes.append(PodRoute(str(subnets[name]), str(gateway.ip), local))
    return tuple(routes)
