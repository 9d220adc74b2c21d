"""Rules that catch at validate what would otherwise fail at apply: a boot method the
node's firmware or BMC cannot do, a provisioning network Strata cannot serve.

A boot setting is inherited (topology defaults -> region -> zone -> rack -> node), so a
combination that cannot work is reported once, where the value that breaks it was
written, not once per node that inherits it.
"""

from __future__ import annotations

from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.model import Node, Topology
from strata.topology.origins import written_at
from strata.topology.spec import TopologySpec

__all__ = ["check_boot"]


def check_boot(spec: TopologySpec, topology: Topology, diags: Diagnostics) -> None:
    _provisioning_networks(spec, diags)
    reported: set[tuple[Path, str]] = set()
    for node in topology.nodes:
        for path, message, hint in _node_problems(spec, node):
            if (path, message) not in reported:
                reported.add((path, message))
                diags.error(path, message, hint)


def _node_problems(spec: TopologySpec, node: Node) -> list[tuple[Path, str, str]]:
    method, firmware = node.boot.method, node.boot.firmware
    where_method = written_at(
        spec, node.source, lambda s: s.boot and s.boot.method, ("boot", "method")
    )
    problems = []
    if method == "http" and firmware == "bios":
        where = written_at(
            spec, node.source, lambda s: s.boot and s.boot.firmware, ("boot", "firmware")
        )
        problems.append(
            (
                max(where_method, where, key=len),
                "boot.method http (UEFI HTTP Boot) needs firmware uefi, not bios",
                "set boot.firmware: uefi, or boot.method: ipxe for BIOS machines",
            )
        )
    if method == "http" and node.bmc.protocol == "ipmi":
        problems.append(
            (
                where_method,
                f"boot.method http for {node.name}: an IPMI BMC cannot ask for UEFI HTTP Boot "
                "(IPMI boot flags have no HTTP device)",
                "use a redfish:// address for this node, or boot.method: ipxe",
            )
        )
    if method == "virtualmedia":
        problems.append(_virtual_media(node, where_method))
    return problems


def _virtual_media(node: Node, where: Path) -> tuple[Path, str, str]:
    if node.bmc.protocol == "ipmi":
        return (
            where,
            f"boot.method virtualmedia for {node.name}: an IPMI BMC has no virtual media",
            "use a redfish-virtualmedia:// address, or boot.method: ipxe",
        )
    return (
        where,
        "boot.method virtualmedia is not supported yet: Strata cannot build per-node install "
        "media (the seed image builder will)",
        "use boot.method: ipxe, pxe or http",
    )


def _provisioning_networks(spec: TopologySpec, diags: Diagnostics) -> None:
    for i, net in enumerate(spec.networks):
        if net.purpose == "provisioning" and net.cidr.version == 6:
            diags.error(
                ("networks", i, "cidr"),
                f"provisioning network {net.name} is IPv6: Strata's network boot is IPv4 only "
                "(its DHCP, PXE and iPXE chain; DHCPv6 boot is not built yet)",
                "give the provisioning network an IPv4 CIDR; other networks may be IPv6",
            )
