"""Static network configuration files for the installed system, from a NodePlan's interfaces.

Flatcar: systemd-networkd ``.network`` units (systemd.network(5): ``[Match]
MACAddress=``, ``[Network] Address= Gateway= DNS= DHCP=``, ``[Link] MTUBytes=``).
FCOS and RHCOS: NetworkManager keyfiles (nm-settings-keyfile(5);
docs.fedoraproject.org/en-US/fedora-coreos/sysconfig-network-configuration:
``/etc/NetworkManager/system-connections/NAME.nmconnection``, mode 0600).
A VLAN in topology.yaml is the switch port's access VLAN: no tagging here.
"""

from __future__ import annotations

from ipaddress import ip_interface
from typing import Any

from strata.ignition.config import file
from strata.plan import InterfacePlan

__all__ = ["interface_label", "keyfile", "network_files", "networkd_path"]


def network_files(style: str, interfaces: tuple[InterfacePlan, ...]) -> list[dict[str, Any]]:
    render = _networkd if style == "networkd" else keyfile
    return [render(i, nic) for i, nic in enumerate(interfaces)]


def interface_label(index: int, nic: InterfacePlan) -> str:
    """The name the interface's configuration file is named after: its name, or ``nicN``."""
    return nic.name or f"nic{index}"


def networkd_path(index: int, nic: InterfacePlan) -> str:
    """The interface's ``.network`` unit (a drop-in directory is this path + ``.d``)."""
    return f"/etc/systemd/network/10-strata-{interface_label(index, nic)}.network"


def _networkd(index: int, nic: InterfacePlan) -> dict[str, Any]:
    lines = ["[Match]", f"MACAddress={nic.mac}", "", "[Network]"]
    if nic.address is None:
        lines.append("DHCP=yes")
    else:
        lines.append(f"Address={nic.address}")
        if nic.gateway:
            lines.append(f"Gateway={nic.gateway}")
        lines.extend(f"DNS={server}" for server in nic.dns)
    if nic.mtu:
        lines.extend(["", "[Link]", f"MTUBytes={nic.mtu}"])
    return file(networkd_path(index, nic), "\n".join(lines) + "\n", 0o644)


def keyfile(
    index: int, nic: InterfacePlan, routes: tuple[tuple[str, str], ...] = ()
) -> dict[str, Any]:
    """The interface's NetworkManager keyfile; ``routes``: (destination CIDR, next hop)
    of static routes on a statically addressed interface, written ``routeN=DEST,HOP``
    in its ``[ipv4]``/``[ipv6]`` section (nm-settings-keyfile(5), "routes")."""
    label = interface_label(index, nic)
    lines = [
        "[connection]",
        f"id={label}",
        "type=ethernet",
        "autoconnect=true",
        "",
        "[ethernet]",
        f"mac-address={nic.mac}",
    ]
    if nic.mtu:
        lines.append(f"mtu={nic.mtu}")
    family = ip_interface(nic.address).version if nic.address else 4
    static = [f"[ipv{family}]", "method=manual"]
    if nic.address:
        route = f",{nic.gateway}" if nic.gateway else ""
        static.append(f"address1={nic.address}{route}")
        if nic.dns:
            static.append("dns=" + ";".join(nic.dns) + ";")
        static += [f"route{n}={dest},{hop}" for n, (dest, hop) in enumerate(routes, 1)]
    other = 6 if family == 4 else 4
    sections = static if nic.address else ["[ipv4]", "method=auto"]
    lines += [
        "",
        *sections,
        "",
        f"[ipv{other}]",
        "method=disabled" if nic.address else "method=auto",
    ]
    path = f"/etc/NetworkManager/system-connections/{label}.nmconnection"
    return file(path, "\n".join(lines) + "\n", 0o600)
