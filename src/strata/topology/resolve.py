"""From the document as written (``TopologySpec``) to the resolved ``Topology``.

Walks the physical tree, applies inherited settings, expands generated racks
and nodes, and parses every address. A fault in a generated entry is reported
once, at the entry, naming the generated item where it first appeared.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol, TypeVar

from strata.topology.addresses import AddressError, parse_bmc_address, parse_ip, parse_mac
from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.fields import check_dns_label
from strata.topology.inherit import ROOT, Inherited, inherit
from strata.topology.model import BMC, NIC, OS, Boot, Disk, Node, Rack, Switch, Topology
from strata.topology.spec import NodeSpec, RackSpec, TopologySpec
from strata.topology.templates import (
    Context,
    Pattern,
    PatternError,
    compile_pattern,
    has_placeholder,
)

__all__ = ["OS_CHANNELS", "resolve"]

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

Text = str | Pattern


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


class _EntryFault(Exception):
    def __init__(self, path: Path, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.path, self.message, self.hint = path, message, hint


@dataclass(frozen=True, slots=True)
class _Place:
    region: str
    zone: str
    rack: str
    switches: frozenset[str]


def resolve(spec: TopologySpec, diags: Diagnostics) -> Topology:
    racks: list[Rack] = []
    nodes: list[Node] = []
    top = inherit(ROOT, spec.defaults, ("defaults",))
    for ri, region in enumerate(spec.regions):
        rpath: Path = ("regions", ri)
        in_region = inherit(top, region.defaults, (*rpath, "defaults"))
        for zi, zone in enumerate(region.zones):
            zpath: Path = (*rpath, "zones", zi)
            in_zone = inherit(in_region, zone.defaults, (*zpath, "defaults"))
            for ki, rack in enumerate(zone.racks):
                kpath: Path = (*zpath, "racks", ki)
                in_rack = inherit(in_zone, rack.defaults, (*kpath, "defaults"))
                for made, members in _rack_entry(
                    rack, kpath, region.name, zone.name, in_rack, diags
                ):
                    racks.append(made)
                    nodes.extend(members)
    return Topology(
        name=spec.metadata.name,
        file=diags.file,
        networks=_first_by_name(spec.networks),  # a duplicate is reported; the first counts
        layers=tuple(spec.layers),
        credentials=_first_by_name(spec.credentials),
        racks=tuple(racks),
        nodes=tuple(nodes),
    )


def _rack_entry(
    rack: RackSpec, path: Path, region: str, zone: str, settings: Inherited, diags: Diagnostics
) -> Iterator[tuple[Rack, list[Node]]]:
    try:
        name = _pattern(rack.name, (*path, "name"))
        switch_names = [
            _pattern(s.name, (*path, "switches", i, "name")) for i, s in enumerate(rack.switches)
        ]
        addresses = [
            _pattern(s.management_address, (*path, "switches", i, "managementAddress"))
            if s.management_address
            else None
            for i, s in enumerate(rack.switches)
        ]
    except _EntryFault as fault:
        diags.error(fault.path, fault.message, fault.hint)
        return
    entries = [
        _node_entry(n, (*path, "nodes", i), settings, diags) for i, n in enumerate(rack.nodes)
    ]
    gen = rack.generate
    for offset in range(gen.count if gen else 1):
        ctx = Context(None, gen.start + offset if gen else None, offset)
        try:
            rack_name = _checked_name(name, ctx, (*path, "name"))
            switches = tuple(
                Switch(
                    name=_render(switch_names[i], ctx, (*path, "switches", i, "name")),
                    model=s.model,
                    management_address=_address(addresses[i], ctx, (*path, "switches", i)),
                    ports=tuple(str(p) for p in range(1, s.ports + 1))
                    if isinstance(s.ports, int)
                    else tuple(s.ports),
                )
                for i, s in enumerate(rack.switches)
            )
        except _EntryFault as fault:
            diags.error(fault.path, _in_item(fault.message, gen, offset), fault.hint)
            return
        place = _Place(region, zone, rack_name, frozenset(s.name for s in switches))
        members = [node for entry in entries if entry for node in entry.expand(ctx, place, diags)]
        yield (
            Rack(
                rack_name,
                region,
                zone,
                switches,
                rack.power_budget,
                tuple(n.name for n in members),
                path,
            ),
            members,
        )


def _address(pattern: Text | None, ctx: Context, path: Path) -> IPv4Address | IPv6Address | None:
    if pattern is None:
        return None
    try:
        return parse_ip(_render(pattern, ctx, (*path, "managementAddress")))
    except AddressError as exc:
        raise _EntryFault((*path, "managementAddress"), str(exc)) from None


class _NodeEntry:
    """A node entry with its patterns compiled and its inherited settings applied once."""

    def __init__(self, spec: NodeSpec, path: Path, settings: Inherited) -> None:
        self.spec, self.path, self.settings = spec, path, settings
        self.name = _pattern(spec.name, (*path, "name"))
        self.bmc_address = _pattern(spec.bmc.address, (*path, "bmc", "address"))
        self.boot_mac = _pattern(spec.boot_mac, (*path, "bootMAC")) if spec.boot_mac else None
        self.nics = [
            (
                _pattern(nic.mac, (*path, "nics", i, "mac")),
                _pattern(nic.ip, (*path, "nics", i, "ip")),
                _pattern(nic.switch_port.switch, (*path, "nics", i, "switchPort", "switch"))
                if nic.switch_port
                else None,
                _pattern(str(nic.switch_port.port), (*path, "nics", i, "switchPort", "port"))
                if nic.switch_port
                else None,
            )
            for i, nic in enumerate(spec.nics)
        ]
        self.os = _os(settings, path)
        self.boot = Boot(**{**DEFAULT_BOOT, **settings.boot})
        self.layer = _required(
            settings.layer, "layer", path, "set layer on the node or in a defaults block"
        )
        self.disks = tuple(
            Disk(d.name, d.size_gigabytes, d.model, d.serial_number, d.rotational)
            for d in spec.disks
        )

    def expand(self, rack_ctx: Context, place: _Place, diags: Diagnostics) -> Iterator[Node]:
        gen = self.spec.generate
        for offset in range(gen.count if gen else 1):
            ctx = Context(
                gen.start + offset if gen else None,
                rack_ctx.rack,
                rack_ctx.offset * (gen.count if gen else 1) + offset,
            )
            try:
                yield self._node(ctx, place)
            except _EntryFault as fault:
                diags.error(fault.path, _in_item(fault.message, gen, offset), fault.hint)
                return

    def _node(self, ctx: Context, place: _Place) -> Node:
        path, s = self.path, self.settings
        nics = tuple(self._nic(i, ctx) for i in range(len(self.nics)))
        if self.boot_mac is not None:
            boot_mac = _mac(_render(self.boot_mac, ctx, (*path, "bootMAC")), (*path, "bootMAC"))
        elif nics:
            boot_mac = nics[0].mac
        else:
            raise _EntryFault(path, "the node has no boot MAC", "set bootMAC or list its nics")
        install_disk = s.install_disk
        if install_disk is None and s.root_device_hints is None and self.disks:
            install_disk = self.disks[0].name
        return Node(
            name=_checked_name(self.name, ctx, (*path, "name")),
            region=place.region,
            zone=place.zone,
            rack=place.rack,
            layer=self.layer,
            role=s.role or "worker",
            bmc=self._bmc(ctx),
            boot_mac=boot_mac,
            nics=nics,
            disks=self.disks,
            os=self.os,
            boot=self.boot,
            install_disk=install_disk,
            root_device_hints=s.root_device_hints,
            ssh_keys=s.ssh_keys,
            ignition=s.ignition,
            labels=s.labels,
            source=path,
        )

    def _bmc(self, ctx: Context) -> BMC:
        where = (*self.path, "bmc", "address")
        bmc = self.settings.bmc
        try:
            return parse_bmc_address(
                _render(self.bmc_address, ctx, where),
                bmc.get("protocol"),
                bmc.get("credentials"),
                bool(bmc.get("insecure", False)),
                bmc.get("ca_bundle"),
            )
        except AddressError as exc:
            raise _EntryFault(where, str(exc)) from None

    def _nic(self, i: int, ctx: Context) -> NIC:
        mac, ip, switch, port = self.nics[i]
        where: Path = (*self.path, "nics", i)
        ip_text = _render(ip, ctx, (*where, "ip"))
        try:
            address = None if ip_text == "dhcp" else parse_ip(ip_text)
        except AddressError as exc:
            raise _EntryFault((*where, "ip"), str(exc), "write an address or dhcp") from None
        return NIC(
            name=self.spec.nics[i].name,
            mac=_mac(_render(mac, ctx, (*where, "mac")), (*where, "mac")),
            network=self.spec.nics[i].network,
            ip=address,
            switch=_render(switch, ctx, (*where, "switchPort", "switch")) if switch else None,
            port=_render(port, ctx, (*where, "switchPort", "port")) if port else None,
        )


def _node_entry(
    spec: NodeSpec, path: Path, settings: Inherited, diags: Diagnostics
) -> _NodeEntry | None:
    try:
        return _NodeEntry(spec, path, inherit(settings, spec, path))
    except _EntryFault as fault:
        diags.error(fault.path, fault.message, fault.hint)
        return None


def _first_by_name(entries: Sequence[N]) -> dict[str, N]:
    out: dict[str, N] = {}
    for entry in entries:
        out.setdefault(entry.name, entry)
    return out


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
        raise _EntryFault(
            origin.get("os.channel", path),
            f"'{channel}' is not a {name} channel",
            "known: " + ", ".join(allowed),
        )
    return OS(name, channel, version)


def _required(value: str | None, what: str, path: Path, hint: str) -> str:
    if value is None:
        raise _EntryFault(path, f"no {what} for this node", hint)
    return value


def _pattern(text: str, path: Path) -> Text:
    if not has_placeholder(text):
        return text
    try:
        return compile_pattern(text)
    except PatternError as exc:
        raise _EntryFault(path, str(exc)) from None


def _render(text: Text, ctx: Context, path: Path) -> str:
    if isinstance(text, str):
        return text
    try:
        return text.render(ctx)
    except PatternError as exc:
        raise _EntryFault(path, str(exc)) from None


def _checked_name(text: Text, ctx: Context, path: Path) -> str:
    name = _render(text, ctx, path)
    try:
        return check_dns_label(name)
    except ValueError:
        raise _EntryFault(
            path,
            f"'{name}' is not a valid name",
            "a DNS label: lowercase letters, digits and '-', at most 63 characters",
        ) from None


def _mac(text: str, path: Path) -> str:
    try:
        return parse_mac(text)
    except AddressError as exc:
        raise _EntryFault(path, str(exc)) from None


def _in_item(message: str, gen: object, offset: int) -> str:
    return f"{message} (generated item #{offset + 1})" if gen is not None else message
