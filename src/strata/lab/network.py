"""The lab's network: a namespace of its own, so nothing touches the host's.

Inside ``strata-<topology>``: a bridge for the provisioning network carrying its
gateway address (where Strata's boot service and dnsmasq listen) and one tap
device per server; every BMC's address on the namespace's loopback (one Redfish
service answers for all of them). Needs root.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import dataclass

from strata.errors import StrataError
from strata.topology import Topology

__all__ = ["LabNetwork", "NetworkError", "ip_command", "lab_network"]

BRIDGE = "prov0"


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
        for tap in self.taps.values():
            ip_command(*ns, "tuntap", "add", tap, "mode", "tap")
            ip_command(*ns, "link", "set", tap, "master", BRIDGE)
            ip_command(*ns, "link", "set", tap, "up")


def lab_network(topology: Topology) -> LabNetwork:
    prov = next((n for n in topology.networks.values() if n.purpose == "provisioning"), None)
    if prov is None or prov.gateway is None:
        raise NetworkError(
            "the lab needs a provisioning network with a gateway (the seed's address)"
        )
    net = ipaddress.ip_network(str(prov.cidr))
    hosts = tuple(sorted({n.bmc.host for n in topology.nodes}))
    taps = {n.name: f"tap{i}" for i, n in enumerate(topology.nodes)}
    return LabNetwork(f"strata-{topology.name}", str(prov.gateway), net.prefixlen, hosts, taps)


def ip_command(*args: str) -> None:
    """Runs ``ip ARGS``; ``NetworkError`` with its stderr if it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.strip()}")
