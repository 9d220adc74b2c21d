"""Rules across resolved nodes: unique identities, addressing, cabling, control planes."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from strata.topology.bmc_schemes import SCHEMES, default_port
from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.model import BMC, Node, Topology
from strata.topology.spec import NetworkSpec

__all__ = ["LeftOut", "check_nodes"]

IP = IPv4Address | IPv6Address


@dataclass
class LeftOut:
    """What the loader left out after schema errors: those names still count as defined."""

    nodes: int = 0
    networks: set[str] = field(default_factory=set)
    layers: set[str] = field(default_factory=set)
    credentials: set[str] = field(default_factory=set)

    def add(self, kind: str, item: object) -> None:
        name = item.get("name") if isinstance(item, dict) else None
        if kind == "nodes":
            self.nodes += 1
        elif kind in ("networks", "layers", "credentials") and isinstance(name, str):
            getattr(self, kind).add(name)

    def __bool__(self) -> bool:
        return bool(self.nodes or self.networks or self.layers or self.credentials)


class _Claims:
    """First owner of each unique value (a MAC, an IP, a BMC, a switch port)."""

    def __init__(self, diags: Diagnostics, what: str) -> None:
        self.diags, self.what = diags, what
        self.owners: dict[Hashable, tuple[str, Path]] = {}

    def claim(self, value: Hashable, owner: str, path: Path, shown: str | None = None) -> None:
        first = self.owners.setdefault(value, (owner, path))
        if first != (owner, path):
            line, _ = self.diags.positions.locate(self.diags.remap(first[1]))
            self.diags.error(
                path,
                f"{self.what} {shown or value} of {owner} is already used by {first[0]} (line {line})",
            )


def check_nodes(topology: Topology, diags: Diagnostics, left_out: LeftOut) -> None:
    macs, ips = _Claims(diags, "MAC"), _Claims(diags, "IP address")
    bmcs, ports = _Claims(diags, "BMC"), _Claims(diags, "switch port")
    _reserved_ips(topology, ips)
    switches: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    for r in topology.racks:  # a duplicate rack name is reported elsewhere; the first counts
        switches.setdefault((r.region, r.zone, r.name), {s.name: set(s.ports) for s in r.switches})
    bmc_nets = [n.cidr for n in topology.networks.values() if n.purpose == "bmc"]
    for node in topology.nodes:
        who = f"node {node.name}"
        for i, nic in enumerate(node.nics):
            where: Path = (*node.source, "nics", i)
            macs.claim(nic.mac, who, (*where, "mac"))
            if nic.network not in left_out.networks:
                _nic_address(topology, node, i, where, diags, ips)
            if nic.switch is not None:
                rack = switches.get((node.region, node.zone, node.rack), {})
                _switch_port(rack, node, i, where, diags, ports)
        if node.nics and node.boot_mac not in {n.mac for n in node.nics}:
            diags.error(
                (*node.source, "bootMAC"), f"boot MAC {node.boot_mac} of {who} is none of its NICs"
            )
        elif not node.nics:
            macs.claim(node.boot_mac, who, (*node.source, "bootMAC"))
        for bmc, where in _bmcs(node):
            bmcs.claim(_bmc_key(bmc), who, where, bmc.address)
            _bmc_network(node, bmc, where, bmc_nets, diags)
    if not left_out:
        _control_planes(topology, diags)


def _bmcs(node: Node) -> Iterator[tuple[BMC, Path]]:
    """The node's BMC addresses (its fallback's after its own), each with where it is written."""
    wheres = (("bmc", "address"), ("bmc", "fallback", "address"))
    for bmc, where in zip(node.bmcs, wheres, strict=False):
        yield bmc, (*node.source, *where)


def _bmc_key(bmc: BMC) -> Hashable:
    """What makes two addresses one BMC: the driver family, the host (an IP address
    compared as an address: [fd00::5] is [fd00:0::5], [::ffff:10.0.0.5] is 10.0.0.5; a name in lower case), the port
    with the scheme's default filled in (443 for https, 80 for http, 623 for IPMI),
    and the Redfish system."""
    host: Hashable
    try:
        ip = ip_address(bmc.host)
    except ValueError:
        host = bmc.host.lower()
    else:  # [::ffff:10.0.0.5] reaches 10.0.0.5
        host = ip.ipv4_mapped or ip if isinstance(ip, IPv6Address) else ip
    port = bmc.port if bmc.port is not None else default_port(bmc.protocol)
    return (SCHEMES[bmc.protocol].family, host, port, bmc.system)


def _reserved_ips(topology: Topology, ips: _Claims) -> None:
    """Addresses that no node may take: gateways, VIPs, switch management addresses."""
    for i, net in enumerate(topology.networks.values()):
        if net.gateway is not None:
            ips.claim(net.gateway, f"network {net.name} (gateway)", ("networks", i, "gateway"))
    for i, layer in enumerate(topology.layers):
        ips.claim(layer.endpoint.vip, f"layer {layer.name} (VIP)", ("layers", i, "endpoint", "vip"))
    for rack in topology.racks:
        for i, switch in enumerate(rack.switches):
            if switch.management_address is not None:
                ips.claim(
                    switch.management_address,
                    f"switch {switch.name}",
                    (*rack.source, "switches", i, "managementAddress"),
                )


def _nic_address(
    topology: Topology, node: Node, i: int, where: Path, diags: Diagnostics, ips: _Claims
) -> None:
    nic = node.nics[i]
    net = topology.networks.get(nic.network)
    if net is None:
        diags.error(
            (*where, "network"),
            f"unknown network '{nic.network}'",
            "networks: " + ", ".join(topology.networks),
        )
    if nic.ip is None:
        return
    ips.claim(nic.ip, f"node {node.name}", (*where, "ip"))
    if net is None:
        return
    if nic.ip not in net.cidr:
        diags.error(
            (*where, "ip"), f"{nic.ip} of node {node.name} is outside {net.name} ({net.cidr})"
        )
    elif _is_edge(nic.ip, net.cidr):
        diags.error(
            (*where, "ip"),
            f"{nic.ip} of node {node.name} is the network or broadcast address of {net.cidr}",
        )
    elif _in_dhcp_range(nic.ip, net):
        diags.error(
            (*where, "ip"),
            f"{nic.ip} of node {node.name} is inside the DHCP range of {net.name}",
            "static addresses must stay outside dhcpRange",
        )


def _is_edge(ip: IP, cidr: IPv4Network | IPv6Network) -> bool:
    if ip.version != 4 or cidr.prefixlen >= 31:
        return False
    return ip == cidr.network_address or ip == cidr.broadcast_address


def _in_dhcp_range(ip: IP, net: NetworkSpec) -> bool:
    r = net.dhcp_range
    return r is not None and r.start.version == ip.version and int(r.start) <= int(ip) <= int(r.end)


def _switch_port(
    rack: dict[str, set[str]], node: Node, i: int, where: Path, diags: Diagnostics, ports: _Claims
) -> None:
    nic = node.nics[i]
    assert nic.switch is not None and nic.port is not None
    if nic.switch not in rack:
        known = ", ".join(rack) or "none"
        diags.error(
            (*where, "switchPort", "switch"),
            f"no switch '{nic.switch}' in rack {node.rack}",
            f"switches there: {known}",
        )
        return
    if nic.port not in rack[nic.switch]:
        diags.error((*where, "switchPort", "port"), f"switch {nic.switch} has no port '{nic.port}'")
        return
    ports.claim(
        (node.region, node.zone, node.rack, nic.switch, nic.port),
        f"node {node.name}",
        (*where, "switchPort"),
        f"{nic.switch}:{nic.port}",
    )


def _bmc_network(
    node: Node, bmc: BMC, where: Path, bmc_nets: list[IPv4Network | IPv6Network], diags: Diagnostics
) -> None:
    try:
        host = ip_address(bmc.host)
    except ValueError:
        return  # a DNS name: nothing to check
    if bmc_nets and not any(host in net for net in bmc_nets):
        diags.warning(where, f"BMC {host} of node {node.name} is in no network with purpose bmc")


def _control_planes(topology: Topology, diags: Diagnostics) -> None:
    counts = {layer.name: 0 for layer in topology.layers}
    for node in topology.nodes:
        if node.role == "control-plane" and node.layer in counts:
            counts[node.layer] += 1
    for i, layer in enumerate(topology.layers):
        count = counts[layer.name]
        if count == 0:
            diags.error(
                ("layers", i, "name"),
                f"layer '{layer.name}' has no control-plane node",
                "give at least one node role: control-plane",
            )
        elif count % 2 == 0:
            diags.warning(
                ("layers", i, "name"),
                f"layer '{layer.name}' has {count} control-plane nodes",
                "etcd needs a majority: an odd number tolerates as many failures with one node less",
            )
