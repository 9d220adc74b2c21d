"""The layer's API endpoint, read back from ``ClusterPlan.endpoint`` (``https://VIP:port``),
and the interface of a node on the network that holds the VIP."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from strata.plan.model import InterfacePlan, NodePlan

__all__ = ["Endpoint", "interface_for_vip", "parse_endpoint"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    vip: IPv4Address | IPv6Address
    port: int

    @property
    def host_port(self) -> str:
        """``VIP:port`` (``[VIP]:port`` for IPv6): kubeadm's controlPlaneEndpoint form."""
        host = f"[{self.vip}]" if self.vip.version == 6 else str(self.vip)
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host_port}"


def parse_endpoint(endpoint: str) -> Endpoint:
    """``https://VIP:port`` -> Endpoint. Raises ValueError if it is not that shape (the
    plan builder writes it so; anything else is a bug upstream)."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or parts.hostname is None or parts.port is None:
        raise ValueError(f"cluster endpoint {endpoint!r} is not https://VIP:port")
    return Endpoint(ip_address(parts.hostname), parts.port)


def interface_for_vip(node: NodePlan, vip: IPv4Address | IPv6Address) -> InterfacePlan | None:
    """The node's statically addressed interface whose subnet holds ``vip``; None when the
    node has none (DHCP, or the VIP's network is not cabled to it)."""
    for nic in node.interfaces:
        if nic.address is not None and vip in ip_interface(nic.address).network:
            return nic
    return None
