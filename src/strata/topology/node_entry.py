"""A node entry of topology.yaml, expanded into the servers it stands for.

Its patterns are compiled and its inherited settings applied once; ``expand``
renders one ``Node`` per generated item (one for a plain entry).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from strata.topology.addresses import AddressError, parse_bmc_address, parse_ip
from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.entry import (
    EntryFault,
    Text,
    checked_name,
    in_item,
    mac,
    pattern,
    render,
)
from strata.topology.inherit import Inherited, inherit
from strata.topology.model import BMC, NIC, OS, Boot, Disk, Node
from strata.topology.spec import NodeSpec
from strata.topology.templates import Context

__all__ = ["OS_CHANNELS", "NodeEntry", "Place", "node_entry"]

# Channels (Flatcar: https://www.flatcar.org/releases) and streams
# (Fedora CoreOS: https://docs.fedoraproject.org/en-US/fedora-coreos/update-streams/).
# RHCOS follows the OpenShift minor version: any value is accepted.
OS_CHANNELS: dict[str, tuple[str, ...] | None] = {
    "flatcar": ("stable", "beta", "alpha", "lts"),
    "fcos": ("stable", "testing", "next"),
    "rhcos": None,
}
DEFAULT_CHANNEL: dict[str, str | None] = {"flatcar": "stable", "fcos": "stable", "rhcos": None}
DEFAULT_BOOT = {"method": "ipxe", "firmware": "uefi"}


@dataclass(frozen=True, slots=True)
class Place:
    """Where generated nodes go: their rack, and the switches in it."""

    region: str
    zone: str
    rack: str
    switches: frozenset[str]


class NodeEntry:
    """A node entry with its patterns compiled and its inherited settings applied once."""

    def __init__(self, spec: NodeSpec, path: Path, settings: Inherited) -> None:
        self.spec, self.path, self.settings = spec, path, settings
        self.name = pattern(spec.name, (*path, "name"))
        self.bmc_address = pattern(spec.bmc.address, (*path, "bmc", "address"))
        fallback = spec.bmc.fallback
        self.fallback_address = (
            pattern(fallback.address, (*path, "bmc", "fallback", "address")) if fallback else None
        )
        self.boot_mac = pattern(spec.boot_mac, (*path, "bootMAC")) if spec.boot_mac else None
        self.nics = [
            (
                pattern(nic.mac, (*path, "nics", i, "mac")),
                pattern(nic.ip, (*path, "nics", i, "ip")),
                pattern(nic.switch_port.switch, (*path, "nics", i, "switchPort", "switch"))
                if nic.switch_port
                else None,
                pattern(str(nic.switch_port.port), (*path, "nics", i, "switchPort", "port"))
                if nic.switch_port
                else None,
            )
            for i, nic in enumerate(spec.nics)
        ]
        self.os = _os(settings, path)
        boot = {**DEFAULT_BOOT, **settings.boot}
        methods = boot["method"] if isinstance(boot["method"], list) else [boot["method"]]
        self.boot = Boot(methods[0], boot["firmware"], tuple(methods[1:]))
        self.layer = _required(
            settings.layer, "layer", path, "set layer on the node or in a defaults block"
        )
        self.disks = tuple(
            Disk(d.name, d.size_gigabytes, d.model, d.serial_number, d.rotational)
            for d in spec.disks
        )

    def expand(self, rack_ctx: Context, place: Place, diags: Diagnostics) -> Iterator[Node]:
        gen = self.spec.generate
        for offset in range(gen.count if gen else 1):
            ctx = Context(
                gen.start + offset if gen else None,
                rack_ctx.rack,
                rack_ctx.offset * (gen.count if gen else 1) + offset,
            )
            try:
                yield self._node(ctx, place)
            except EntryFault as fault:
                diags.error(fault.path, in_item(fault.message, gen, offset), fault.hint)
                return

    def _node(self, ctx: Context, place: Place) -> Node:
        path, s = self.path, self.settings
        nics = tuple(self._nic(i, ctx) for i in range(len(self.nics)))
        if self.boot_mac is not None:
            boot_mac = mac(render(self.boot_mac, ctx, (*path, "bootMAC")), (*path, "bootMAC"))
        elif nics:
            boot_mac = nics[0].mac
        else:
            raise EntryFault(path, "the node has no boot MAC", "set bootMAC or list its nics")
        install_disk = s.install_disk
        if install_disk is None and s.root_device_hints is None and self.disks:
            install_disk = self.disks[0].name
        name = checked_name(self.name, ctx, (*path, "name"))
        bmc = self._bmc(ctx, name)
        return Node(
            name=name,
            region=place.region,
            zone=place.zone,
            rack=place.rack,
            layer=self.layer,
            role=s.role or "worker",
            bmc=bmc,
            boot_mac=boot_mac,
            nics=nics,
            disks=self.disks,
            os=self.os,
            boot=self._boot(bmc),
            install_disk=install_disk,
            root_device_hints=s.root_device_hints,
            ssh_keys=s.ssh_keys,
            ignition=s.ignition,
            labels=s.labels,
            source=path,
        )

    def _bmc(self, ctx: Context, name: str) -> BMC:
        """The node's BMC (its ``fallback`` too, when written), each address rendered for
        ``ctx`` and read as Metal3 reads it; an ``EntryFault`` where the bad one is."""
        bmc, spec = self.settings.bmc, self.spec.bmc.fallback
        primary = _address(
            self.bmc_address,
            ctx,
            (*self.path, "bmc", "address"),
            name,
            bmc.get("protocol"),
            bmc.get("credentials"),
            bool(bmc.get("insecure", False)),
            bmc.get("ca_bundle"),
        )
        if spec is None or self.fallback_address is None:
            return primary
        fallback = _address(
            self.fallback_address,
            ctx,
            (*self.path, "bmc", "fallback", "address"),
            name,
            None,  # its scheme written: bmc.protocol names the first address's
            spec.credentials or primary.credentials,
            spec.insecure,
            spec.ca_bundle,
        )
        return replace(primary, fallback=fallback)

    def _boot(self, bmc: BMC) -> Boot:
        """The boot method written (``boot.method``, inherited), else the one the BMC
        address's scheme implies (redfish-virtualmedia: virtual media, as Metal3's boot
        interface), else ipxe. A written method the scheme contradicts is boot_rules'."""
        if bmc.boot is None or "method" in self.settings.boot:
            return self.boot
        return Boot(bmc.boot, self.boot.firmware, self.boot.fallbacks)

    def _nic(self, i: int, ctx: Context) -> NIC:
        mac_text, ip, switch, port = self.nics[i]
        where: Path = (*self.path, "nics", i)
        ip_text = render(ip, ctx, (*where, "ip"))
        try:
            address = None if ip_text == "dhcp" else parse_ip(ip_text)
        except AddressError as exc:
            raise EntryFault((*where, "ip"), str(exc), "write an address or dhcp") from None
        return NIC(
            name=self.spec.nics[i].name,
            mac=mac(render(mac_text, ctx, (*where, "mac")), (*where, "mac")),
            network=self.spec.nics[i].network,
            ip=address,
            switch=render(switch, ctx, (*where, "switchPort", "switch")) if switch else None,
            port=render(port, ctx, (*where, "switchPort", "port")) if port else None,
        )


def node_entry(
    spec: NodeSpec, path: Path, settings: Inherited, diags: Diagnostics
) -> NodeEntry | None:
    try:
        return NodeEntry(spec, path, inherit(settings, spec, path))
    except EntryFault as fault:
        diags.error(fault.path, fault.message, fault.hint)
        return None


def _os(settings: Inherited, path: Path) -> OS:
    origin = settings.origin
    name = _required(
        settings.os.get("name"), "OS", path, "set os.name on the node or in a defaults block"
    )
    version = _required(
        settings.os.get("version"), "OS version", path, 'set os.version, e.g. "4081.2.0"'
    )
    channel = settings.os.get("channel") or DEFAULT_CHANNEL[name]
    allowed = OS_CHANNELS[name]
    if allowed is not None and channel not in allowed:
        raise EntryFault(
            origin.get("os.channel", path),
            f"'{channel}' is not a {name} channel",
            "known: " + ", ".join(allowed),
        )
    return OS(name, channel, version)


def _required(value: str | None, what: str, path: Path, hint: str) -> str:
    if value is None:
        raise EntryFault(path, f"no {what} for this node", hint)
    return value


def _address(
    compiled: Text,
    ctx: Context,
    where: Path,
    name: str,
    protocol: str | None,
    credentials: str | None,
    insecure: bool,
    ca_bundle: str | None,
) -> BMC:
    """One BMC address of node ``name``: ``compiled`` rendered for ``ctx``, then
    ``parse_bmc_address``; ``EntryFault`` at ``where`` naming the node."""
    try:
        return parse_bmc_address(
            render(compiled, ctx, where), protocol, credentials, insecure, ca_bundle
        )
    except AddressError as exc:
        raise EntryFault(where, f"{name}: {exc}") from None
