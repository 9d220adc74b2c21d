"""From the document as written (``TopologySpec``) to the resolved ``Topology``.

Walks the physical tree, applies inherited settings, expands generated racks
and nodes, and parses every address. A fault in a generated entry is reported
once, at the entry, naming the generated item where it first appeared. The size
of the expansion is counted first (``expansion``): past its limits nothing is
expanded and the topology comes back without racks or nodes. The labels a node
inherits are counted as written, once per level (``label_limits``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol, TypeVar

from strata.topology.addresses import AddressError, parse_ip
from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.entry import EntryFault, Text, checked_name, in_item, pattern, render
from strata.topology.expansion import within_limits
from strata.topology.inherit import ROOT, Inherited, inherit
from strata.topology.label_limits import check_label_limits
from strata.topology.model import Node, Rack, Switch, Topology
from strata.topology.node_entry import OS_CHANNELS, Place, node_entry
from strata.topology.spec import RackSpec, TopologySpec
from strata.topology.templates import Context

__all__ = ["OS_CHANNELS", "resolve"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def resolve(spec: TopologySpec, diags: Diagnostics) -> Topology:
    racks: list[Rack] = []
    nodes: list[Node] = []
    check_label_limits(spec, diags)
    if within_limits(spec, diags):
        _walk(spec, diags, racks, nodes)
    return Topology(
        name=spec.metadata.name,
        file=diags.file,
        networks=_first_by_name(spec.networks),  # a duplicate is reported; the first counts
        layers=tuple(spec.layers),
        credentials=_first_by_name(spec.credentials),
        racks=tuple(racks),
        nodes=tuple(nodes),
    )


def _walk(spec: TopologySpec, diags: Diagnostics, racks: list[Rack], nodes: list[Node]) -> None:
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


def _rack_entry(
    rack: RackSpec, path: Path, region: str, zone: str, settings: Inherited, diags: Diagnostics
) -> Iterator[tuple[Rack, list[Node]]]:
    try:
        name = pattern(rack.name, (*path, "name"))
        switch_names = [
            pattern(s.name, (*path, "switches", i, "name")) for i, s in enumerate(rack.switches)
        ]
        addresses = [
            pattern(s.management_address, (*path, "switches", i, "managementAddress"))
            if s.management_address
            else None
            for i, s in enumerate(rack.switches)
        ]
    except EntryFault as fault:
        diags.error(fault.path, fault.message, fault.hint)
        return
    entries = [
        node_entry(n, (*path, "nodes", i), settings, diags) for i, n in enumerate(rack.nodes)
    ]
    gen = rack.generate
    for offset in range(gen.count if gen else 1):
        ctx = Context(None, gen.start + offset if gen else None, offset)
        try:
            rack_name = checked_name(name, ctx, (*path, "name"))
            switches = tuple(
                Switch(
                    name=render(switch_names[i], ctx, (*path, "switches", i, "name")),
                    model=s.model,
                    management_address=_address(addresses[i], ctx, (*path, "switches", i)),
                    ports=tuple(str(p) for p in range(1, s.ports + 1))
                    if isinstance(s.ports, int)
                    else tuple(s.ports),
                )
                for i, s in enumerate(rack.switches)
            )
        except EntryFault as fault:
            diags.error(fault.path, in_item(fault.message, gen, offset), fault.hint)
            return
        place = Place(region, zone, rack_name, frozenset(s.name for s in switches))
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


def _address(text: Text | None, ctx: Context, path: Path) -> IPv4Address | IPv6Address | None:
    if text is None:
        return None
    try:
        return parse_ip(render(text, ctx, (*path, "managementAddress")))
    except AddressError as exc:
        raise EntryFault((*path, "managementAddress"), str(exc)) from None


def _first_by_name(entries: Sequence[N]) -> dict[str, N]:
    out: dict[str, N] = {}
    for entry in entries:
        out.setdefault(entry.name, entry)
    return out
