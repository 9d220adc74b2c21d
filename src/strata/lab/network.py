"""The lab's network: a namespace of its own, so nothing touches the host's.

Inside ``strata-<topology>``: a bridge for the provisioning network carrying its
gateway address (where Strata's boot service and dnsmasq listen) and one tap
device per server; every BMC's address on the namespace's loopback (one Redfish
service answers for all of them). A server with a NIC on the BMC network (the seed's
machine, which drives the other BMCs) gets a second tap, on a bridge of the BMC
network (``bmc0``) that carries one address of it (its gateway, else the first address
no node or BMC uses): Linux answers ARP there for the BMC addresses on the loopback
too (``arp_ignore`` 0, its default), so the machine reaches them as on a real BMC
network. Needs root.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from strata.errors import StrataError
from strata.topology import Node, Topology
from strata.topology.spec import NetworkSpec

__all__ = ["LabNetwork", "NetworkError", "bmc_network", "bmc_nic", "ip_command", "lab_network"]

BRIDGE = "prov0"
BMC_BRIDGE = "bmc0"


class NetworkError(StrataError):
    """The lab's network namespace, bridge or taps could not be set up."""

    kind = "lab-network"


@dataclass(frozen=True)
class LabNetwork:
    namespace: str
    gateway: str  # the provisioning network's gateway: the seed's address in the lab
    prefix: int
    bmc_hosts: tuple[str, ...]
    taps: dict[str, str]  # node -> tap device
    bmc_taps: dict[str, str] = field(default_factory=dict)  # node -> its tap on BMC_BRIDGE
    bmc_address: str | None = None  # "address/prefix" of BMC_BRIDGE (with bmc_taps)

    @property
    def inside(self) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.namespace)

    def exists(self) -> bool:
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return any(line.split()[0] == self.namespace for line in names.splitlines() if line)

    def create(self) -> None:
        if os.geteuid() != 0:
            raise NetworkError(
                "the lab builds a network namespace, a bridge and tap devices: run it as root"
            )
        if self.exists():
            raise NetworkError(
                f"network namespace {self.namespace} exists: `strata lab down` first"
            )
        ip_command("netns", "add", self.namespace)
        try:
            self._links()
        except NetworkError:
            self.delete()
            raise

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)

    def _links(self) -> None:
        ns = ("-n", self.namespace)
        ip_command(*ns, "link", "set", "lo", "up")
        ip_command(*ns, "link", "add", BRIDGE, "type", "bridge")
        ip_command(*ns, "addr", "add", f"{self.gateway}/{self.prefix}", "dev", BRIDGE)
        ip_command(*ns, "link", "set", BRIDGE, "up")
        for host in self.bmc_hosts:  # on the namespace's loopback: reachable only in it
            ip_command(*ns, "addr", "add", f"{host}/32", "dev", "lo")
        _taps(ns, BRIDGE, self.taps.values())
        if self.bmc_taps and self.bmc_address is not None:
            ip_command(*ns, "link", "add", BMC_BRIDGE, "type", "bridge")
            ip_command(*ns, "addr", "add", self.bmc_address, "dev", BMC_BRIDGE)
            ip_command(*ns, "link", "set", BMC_BRIDGE, "up")
            _taps(ns, BMC_BRIDGE, self.bmc_taps.values())


def _taps(ns: tuple[str, ...], bridge: str, taps: Iterable[str]) -> None:
    for tap in taps:
        ip_command(*ns, "tuntap", "add", tap, "mode", "tap")
        ip_command(*ns, "link", "set", tap, "master", bridge)
        ip_command(*ns, "link", "set", tap, "up")


def lab_network(topology: Topology) -> LabNetwork:
    prov = next((n for n in topology.networks.values() if n.purpose == "provisioning"), None)
    if prov is None or prov.gateway is None:
        raise NetworkError(
            "the lab needs a provisioning network with a gateway (the seed's address)"
        )
    net = ipaddress.ip_network(str(prov.cidr))
    hosts = tuple(sorted({b.host for n in topology.nodes for b in n.bmcs}))
    taps = {n.name: f"tap{i}" for i, n in enumerate(topology.nodes)}
    bmc = bmc_network(topology)
    bmc_taps = {
        n.name: f"btap{i}"
        for i, n in enumerate(topology.nodes)
        if bmc is not None and bmc_nic(n, bmc.name) is not None
    }
    address = _bmc_address(topology, bmc) if bmc is not None and bmc_taps else None
    return LabNetwork(
        f"strata-{topology.name}", str(prov.gateway), net.prefixlen, hosts, taps, bmc_taps, address
    )


def bmc_network(topology: Topology) -> NetworkSpec | None:
    """The (first) network of purpose ``bmc``: the one the lab makes a bridge of."""
    return next((n for n in topology.networks.values() if n.purpose == "bmc"), None)


def bmc_nic(node: Node, network: str) -> str | None:
    """The MAC of ``node``'s first NIC on ``network`` other than its boot NIC (which is
    on the provisioning bridge): the one the lab puts on the BMC network's bridge."""
    return next((n.mac for n in node.nics if n.network == network and n.mac != node.boot_mac), None)


def _bmc_address(topology: Topology, bmc: NetworkSpec) -> str:
    """``address/prefix`` for the BMC network's bridge: its gateway, else its first
    address that nothing of the topology has or may be given (NICs, BMCs, switches'
    management addresses, layer endpoints, the network's DHCP range)."""
    net = ipaddress.ip_network(str(bmc.cidr))
    taken = {str(nic.ip) for n in topology.nodes for nic in n.nics if nic.ip is not None}
    taken |= {b.host for n in topology.nodes for b in n.bmcs}
    taken |= {str(s.management_address) for r in topology.racks for s in r.switches}
    taken |= {str(x.endpoint.vip) for x in topology.layers}
    if bmc.gateway is not None:  # (validation refuses a gateway that anything else has)
        return f"{bmc.gateway}/{net.prefixlen}"
    pool = bmc.dhcp_range
    dynamic = (lambda a: pool.start <= a <= pool.end) if pool else (lambda a: False)
    free = next((a for a in net.hosts() if str(a) not in taken and not dynamic(a)), None)
    if free is None:
        raise NetworkError(f"the BMC network {bmc.name} ({net}) has no address left for the lab")
    return f"{free}/{net.prefixlen}"


def ip_command(*args: str) -> None:
    """Runs ``ip ARGS``; ``NetworkError`` with its stderr if it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.strip()}")
