"""The size of the datacenter once its generators are expanded, counted before expanding.

A rack generator of 100,000 holding a node generator of 100,000 is a 1.4 KB file
that stands for ten billion servers. ``within_limits`` multiplies the counts out
first and refuses such a file with a located error, so ``strata validate`` answers
in bounded time and memory whatever it is given.

Limits (docs/topology.md, "Limits"): at most ``MAX_SERVERS`` servers, and at most
``MAX_OBJECTS`` generated objects in all — racks, switches, switch ports, servers
and their NICs, the things expansion makes one by one. Measured on a 2-core
machine, a million generated servers took 53 s and 1.9 GB to check.
"""

from __future__ import annotations

from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.spec import NodeSpec, RackSpec, SwitchSpec, TopologySpec

__all__ = ["MAX_OBJECTS", "MAX_SERVERS", "within_limits"]

MAX_SERVERS = 1_000_000
"""Servers in one topology, once generators are expanded."""
MAX_OBJECTS = 8_000_000
"""Racks, switches, switch ports, servers and NICs in one topology, once expanded."""

_HINT = "lower generate.count, or split the datacenter into several topologies"


class _Count:
    def __init__(self) -> None:
        self.servers = 0
        self.objects = 0


def within_limits(spec: TopologySpec, diags: Diagnostics) -> bool:
    """True when the expanded topology stays within the limits; else one located error."""
    count = _Count()
    for ri, region in enumerate(spec.regions):
        for zi, zone in enumerate(region.zones):
            for ki, rack in enumerate(zone.racks):
                path: Path = ("regions", ri, "zones", zi, "racks", ki)
                if not _rack(rack, path, count, diags):
                    return False
    return True


def _rack(rack: RackSpec, path: Path, count: _Count, diags: Diagnostics) -> bool:
    racks = rack.generate.count if rack.generate else 1
    made = racks * (1 + sum(_switch_objects(s) for s in rack.switches))
    count.objects += made
    if count.objects > MAX_OBJECTS:
        diags.error(
            _generate(path, rack.generate is not None),
            f"expanded, the topology holds more than {MAX_OBJECTS:,} racks, switches, "
            f"switch ports, servers and NICs; this rack entry alone makes {made:,}",
            _HINT,
        )
        return False
    return all(
        _node(node, (*path, "nodes", i), racks, rack.generate is not None, count, diags)
        for i, node in enumerate(rack.nodes)
    )


def _node(
    node: NodeSpec, path: Path, racks: int, rack_generated: bool, count: _Count, diags: Diagnostics
) -> bool:
    each = node.generate.count if node.generate else 1
    servers = racks * each
    count.servers += servers
    count.objects += servers * (1 + len(node.nics))
    product = f"{racks:,} racks of {each:,} nodes" if rack_generated else f"{each:,} nodes"
    if count.servers > MAX_SERVERS:
        message = (
            f"expanded, the topology holds more than {MAX_SERVERS:,} servers; "
            f"this entry alone makes {servers:,} ({product})"
        )
    elif count.objects > MAX_OBJECTS:
        message = (
            f"expanded, the topology holds more than {MAX_OBJECTS:,} racks, switches, "
            f"switch ports, servers and NICs; this entry makes {servers:,} servers "
            f"({product}) with {len(node.nics):,} NICs each"
        )
    else:
        return True
    diags.error(_generate(path, node.generate is not None), message, _HINT)
    return False


def _switch_objects(switch: SwitchSpec) -> int:
    ports = switch.ports if isinstance(switch.ports, int) else len(switch.ports)
    return 1 + max(ports, 0)


def _generate(path: Path, generated: bool) -> Path:
    return (*path, "generate", "count") if generated else path
