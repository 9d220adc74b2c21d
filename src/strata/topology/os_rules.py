"""Rules about what the OS install needs from the file, caught at validate instead of at boot:
a release the Ignition Strata writes can serve (``os_releases``), and a disk to install to
(``disk_rules``).

Settings are inherited, so a finding stands where the value that breaks it is written
(``origins.written_at``), once, not once per node that inherits it.
"""

from __future__ import annotations

from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.disk_rules import check_install_disks
from strata.topology.model import Topology
from strata.topology.origins import written_at
from strata.topology.os_releases import ReleaseError, highest_spec
from strata.topology.spec import TopologySpec

__all__ = ["check_os"]


def check_os(spec: TopologySpec, topology: Topology, diags: Diagnostics) -> None:
    _releases(spec, topology, diags)
    check_install_disks(spec, topology, diags)


def _releases(spec: TopologySpec, topology: Topology, diags: Diagnostics) -> None:
    """Every node's OS release reads an Ignition spec 3 config (Strata writes no other)."""
    checked: set[tuple[Path, str, str]] = set()
    for node in topology.nodes:
        key = (node.source, node.os.name, node.os.version)
        if key in checked:
            continue
        checked.add(key)
        try:
            highest_spec(node.os.name, node.os.version)
        except ReleaseError as exc:
            where = written_at(
                spec, node.source, lambda s: s.os and s.os.version, ("os", "version")
            )
            diags.error(where, exc.message, exc.hint)
