"""The URL machines are given for the boot service: one they can reach.

Machines on the provisioning network fetch their iPXE scripts, Ignition configs and
artifacts from this URL, so it must name an address of this host on that network.
Listening on every address (``0.0.0.0``) says nothing about which one that is: the URL
is derived from the provisioning network (the address of the DHCP interface, else the
one local address inside the network's CIDR). A loopback URL reaches only machines on
this host (simulators, QEMU's user network): Strata never derives one, and takes one
only when the person says it (``--url``), with a warning that names who can reach it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from strata.errors import StrataError
from strata.topology.spec import NetworkSpec

__all__ = ["BootURL", "NoBootURL", "boot_url", "local_addresses"]

Address = IPv4Address | IPv6Address


class NoBootURL(StrataError, ValueError):
    """No URL the provisioning network's machines can reach; ``hint`` says what to give."""

    kind = "boot-url"
    exit_code = 2

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class BootURL:
    url: str  # e.g. http://192.168.110.1:8080
    how: str  # why this URL, for the line the service prints at start
    warning: str | None = None  # said at start when only some machines can reach it


def local_addresses() -> dict[str, list[Address]]:
    """This host's addresses by interface name (psutil: getifaddrs(3))."""
    import socket

    import psutil

    found: dict[str, list[Address]] = {}
    for name, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.setdefault(name, []).append(ip_address(entry.address.split("%")[0]))
    return found


def boot_url(
    listen_host: str,
    port: int,
    network: NetworkSpec,
    url: str | None = None,
    dhcp_interface: str | None = None,
    addresses: Mapping[str, Sequence[Address]] | None = None,
) -> BootURL:
    """The boot service's URL for ``network``'s machines. ``NoBootURL`` when none of
    this host's addresses is on the network (and no ``url`` was given), or when the
    listen address is one they cannot reach."""
    if url is not None:
        return _given(url, network)
    try:
        host = ip_address(listen_host)
    except ValueError:
        raise NoBootURL(
            f"--listen {listen_host}: not an IP address", "e.g. --listen 0.0.0.0:8080"
        ) from None
    local = addresses if addresses is not None else local_addresses()
    if not host.is_unspecified and not host.is_loopback:
        return BootURL(_http(host, port), f"--listen {listen_host}")
    if host.is_loopback:
        raise NoBootURL(
            f"the boot service listens on {listen_host} only: machines on {network.name} "
            f"({network.cidr}) cannot reach it",
            f"listen on this host's address on {network.name}, or, when the machines run on "
            f"this host (simulators, QEMU's user network), say so: --url http://{listen_host}:{port}",
        )
    interface, address = _on_network(local, network, dhcp_interface)
    return BootURL(_http(address, port), f"the address of {interface} on {network.name}")


def _on_network(
    local: Mapping[str, Sequence[Address]], network: NetworkSpec, dhcp_interface: str | None
) -> tuple[str, Address]:
    names = [dhcp_interface] if dhcp_interface else sorted(local)
    for name in names:
        for address in local.get(name, ()):
            if address in network.cidr:
                return name, address
    seen = ", ".join(f"{n} {'/'.join(map(str, a))}" for n, a in sorted(local.items()) if a)
    where = f"{dhcp_interface} has" if dhcp_interface else "this host has"
    raise NoBootURL(
        f"{where} no address on {network.name} ({network.cidr}), so machines there have no "
        f"address to reach the boot service at (addresses: {seen or 'none'})",
        f"give this host an address in {network.cidr}, or name the URL machines reach: --url",
    )


def _given(url: str, network: NetworkSpec) -> BootURL:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NoBootURL(
            f"--url {url}: not an http:// or https:// URL", "e.g. --url http://192.168.110.1:8080"
        )
    try:
        host: Address | None = ip_address(parts.hostname)
    except ValueError:
        host = None  # a DNS name: the person's word for it
    loopback = parts.hostname == "localhost" or (host is not None and host.is_loopback)
    warning = None
    if loopback and not network.cidr.network_address.is_loopback:
        warning = (
            f"{url} is a loopback address: only machines on this host (simulators, QEMU's "
            f"user network) reach it, none on {network.name} ({network.cidr})"
        )
    return BootURL(url.rstrip("/"), "--url", warning)


def _http(address: Address, port: int) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{port}"
