"""Rules that catch at validate what would otherwise fail at apply: a boot method the
node's firmware or BMC cannot do, or that its BMC address's scheme contradicts
(``redfish-virtualmedia://`` boots through virtual media, as Metal3's boot interface
for it does), a provisioning network Strata cannot serve.

A boot setting is inherited (topology defaults -> region -> zone -> rack -> node), so a
combination that cannot work is reported once, where the value that breaks it was
written, not once per node that inherits it.
"""

from __future__ import annotations

import dataclasses

from strata.topology.bmc_schemes import (
    BOOT_NAMES,
    SCHEMES,
    UEFI_HTTP,
    VIRTUAL_MEDIA,
    split_scheme,
)
from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.model import Boot, Node, Topology
from strata.topology.origins import settings_chain, written_at
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
    where_method = written_at(
        spec, node.source, lambda s: s.boot and s.boot.method, ("boot", "method")
    )
    problems = []
    implied = where_method == node.source and node.bmc.boot is not None
    if implied:
        where_method = _scheme_written_at(spec, node)  # the scheme chose the method
    elif node.bmc.boot not in (None, node.boot.method):
        problems.append(_contradicted(node, where_method))
    problems += _method_problems(spec, node, where_method, implied)
    for fallback in node.boot.fallbacks:  # each must be possible too: a list is a promise
        other = dataclasses.replace(node, boot=Boot(fallback, node.boot.firmware))
        problems += _method_problems(spec, other, where_method, False)
    return problems


def _method_problems(
    spec: TopologySpec, node: Node, where_method: Path, implied: bool
) -> list[tuple[Path, str, str]]:
    """What makes ``node.boot.method`` impossible on the node's firmware or BMC."""
    method, firmware = node.boot.method, node.boot.firmware
    what = f"{node.bmc.protocol}://" if implied else "boot.method http"
    problems = []
    if method == "http" and firmware == "bios":
        where = written_at(
            spec, node.source, lambda s: s.boot and s.boot.firmware, ("boot", "firmware")
        )
        problems.append(
            (
                max(where_method, where, key=len),
                f"{what} (UEFI HTTP Boot) needs firmware uefi, not bios",
                _uefi_or_ipxe(node),
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
    if method == VIRTUAL_MEDIA:
        problems += _virtual_media(spec, node, where_method, implied)
    return problems


def _scheme_written_at(spec: TopologySpec, node: Node) -> Path:
    """The node's ``bmc.address`` when it names its scheme, else the ``bmc.protocol``
    it takes its scheme from."""
    entry = settings_chain(spec, node.source)[-1][1]
    bmc = getattr(entry, "bmc", None)
    if bmc is not None and split_scheme(bmc.address.strip())[0] is not None:
        return (*node.source, "bmc", "address")
    return written_at(spec, node.source, lambda s: s.bmc and s.bmc.protocol, ("bmc", "protocol"))


def _twin_address(node: Node) -> str:
    """The node's BMC address with the scheme that leaves the boot method to boot.method
    (redfish-virtualmedia+http://h/p -> redfish+http://h/p)."""
    bmc = node.bmc
    return SCHEMES[bmc.protocol].network_twin + bmc.address[len(bmc.protocol) :]


def _with_method(node: Node, methods: str) -> str:
    """How to boot with another of ``methods``: ``boot.method: …``, and when the
    node's scheme implies a boot method, the address of the scheme that leaves it to
    boot.method (else the hint leads to a contradiction)."""
    if node.bmc.boot is None:
        return f"boot.method: {methods}"
    return f"write {_twin_address(node)} with boot.method: {methods}"


def _uefi_or_ipxe(node: Node) -> str:
    """UEFI HTTP Boot on BIOS: firmware uefi, or iPXE (which a scheme that implies a
    boot method would contradict: then its network twin's address)."""
    uefi = "set boot.firmware: uefi"
    if node.bmc.boot not in (None, UEFI_HTTP):  # a scheme that contradicts http too
        uefi = f"write {_twin_address(node)} and set boot.firmware: uefi"
    return f"{uefi}, or {_with_method(node, 'ipxe')} for BIOS machines"


def _contradicted(node: Node, where: Path) -> tuple[Path, str, str]:
    implied, method = node.bmc.boot or "", node.boot.method
    hint = f"write {_twin_address(node)} to boot with {method}"
    if implied == UEFI_HTTP and node.boot.firmware == "bios":
        hint += " (UEFI HTTP Boot, the scheme's, needs firmware uefi)"
    elif implied != VIRTUAL_MEDIA:
        hint += f", or drop boot.method to boot through {BOOT_NAMES[implied]}"
    return (
        where,
        f"boot.method {method} for {node.name} contradicts its BMC address "
        f"{node.bmc.address}: {node.bmc.protocol}:// boots through {BOOT_NAMES[implied]} "
        "(Metal3's boot interface for the scheme)",
        hint,
    )


def _virtual_media(
    spec: TopologySpec, node: Node, where: Path, implied: bool
) -> list[tuple[Path, str, str]]:
    """Virtual media needs a Redfish BMC (an IPMI BMC has none). Either firmware boots
    Strata's image: ISOLINUX and iPXE on BIOS, GRUB on UEFI (``strata.boot.media``)."""
    if node.bmc.protocol == "ipmi":
        return [
            (
                where,
                f"boot.method virtualmedia for {node.name}: an IPMI BMC has no virtual media",
                "use a redfish-virtualmedia:// address, or boot.method: ipxe",
            )
        ]
    return []


def _provisioning_networks(spec: TopologySpec, diags: Diagnostics) -> None:
    for i, net in enumerate(spec.networks):
        if net.purpose == "provisioning" and net.cidr.version == 6:
            diags.error(
                ("networks", i, "cidr"),
                f"provisioning network {net.name} is IPv6: Strata's network boot is IPv4 only "
                "(its DHCP, PXE and iPXE chain; DHCPv6 boot is not built yet)",
                "give the provisioning network an IPv4 CIDR; other networks may be IPv6",
            )
