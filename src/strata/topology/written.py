"""Where settings are written in a topology file: each ``defaults`` block and each node
entry, with its path. Every rule that checks a setting where it was written (labels,
files, disks) walks these; a module of its own so that rules of any module use it
without importing ``rules`` (which imports theirs)."""

from __future__ import annotations

from collections.abc import Iterator

from strata.topology.diagnostics import Path
from strata.topology.settings import NodeSettings
from strata.topology.spec import TopologySpec

__all__ = ["written_settings"]


def written_settings(spec: TopologySpec) -> Iterator[tuple[Path, NodeSettings]]:
    """Every place settings are written: each ``defaults`` block and each node entry."""
    if spec.defaults:
        yield ("defaults",), spec.defaults
    for ri, region in enumerate(spec.regions):
        rpath: Path = ("regions", ri)
        if region.defaults:
            yield (*rpath, "defaults"), region.defaults
        for zi, zone in enumerate(region.zones):
            zpath: Path = (*rpath, "zones", zi)
            if zone.defaults:
                yield (*zpath, "defaults"), zone.defaults
            for ki, rack in enumerate(zone.racks):
                kpath: Path = (*zpath, "racks", ki)
                if rack.defaults:
                    yield (*kpath, "defaults"), rack.defaults
                for ni, node in enumerate(rack.nodes):
                    yield (*kpath, "nodes", ni), node
