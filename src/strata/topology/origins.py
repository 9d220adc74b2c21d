"""Where an inherited node setting was written: the line a finding about it points at.

Settings pass down topology -> region -> zone -> rack -> node (settings.py); the nearest
level that sets a value is where a person changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strata.topology.diagnostics import Path
from strata.topology.settings import NodeSettings
from strata.topology.spec import TopologySpec

__all__ = ["Getter", "settings_chain", "written_at"]

Getter = Callable[[NodeSettings], Any]


def written_at(spec: TopologySpec, source: Path, value: Getter, field: Path) -> Path:
    """Where the value ``value`` reads from a node's settings was last written, going down
    the inheritance chain to ``source`` (the node entry); the node entry if nowhere."""
    found: Path = source
    for path, settings in settings_chain(spec, source):
        if settings is not None and value(settings) is not None:
            found = (*path, *field)
    return found


def settings_chain(spec: TopologySpec, source: Path) -> list[tuple[Path, NodeSettings | None]]:
    """The settings blocks a node entry at ``source`` inherits from, topmost first, ending
    with the entry itself (settings.py: topology -> region -> zone -> rack -> node)."""
    ri, zi, ki, ni = (int(source[i]) for i in (1, 3, 5, 7))
    region = spec.regions[ri]
    zone = region.zones[zi]
    rack = zone.racks[ki]
    return [
        (("defaults",), spec.defaults),
        (("regions", ri, "defaults"), region.defaults),
        (("regions", ri, "zones", zi, "defaults"), zone.defaults),
        (("regions", ri, "zones", zi, "racks", ki, "defaults"), rack.defaults),
        (source, rack.nodes[ni]),
    ]
