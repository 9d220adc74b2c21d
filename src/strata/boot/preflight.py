"""Before any server is powered on: is every file its install will fetch in the mirror?

A node whose kernel, initramfs or disk image is missing would power on, PXE-boot, fetch
a 404 and sit until the booting phase times out, with a reason that blames DHCP or
PXE. The preflight names what is missing for which OS and version, for which nodes,
where it was looked for, and the command that imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from strata.boot.assets import AssetIndex
from strata.ignition import profile_for
from strata.plan import ClusterPlan, NodePlan

__all__ = ["MissingArtifacts", "missing_artifacts"]


@dataclass(frozen=True, slots=True)
class MissingArtifacts:
    os_name: str
    version: str
    files: tuple[str, ...]
    nodes: tuple[str, ...]  # the nodes that would install this OS version
    directory: Path  # where they were looked for

    def describe(self, topology_file: Path) -> str:
        """One paragraph: what, for whom, where, and how to import it."""
        nodes = ", ".join(self.nodes[:5]) + (
            f" and {len(self.nodes) - 5} more" if len(self.nodes) > 5 else ""
        )
        return (
            f"{self.os_name} {self.version} (for {nodes}): {', '.join(self.files)} not in "
            f"{self.directory}; import them: strata artifacts import DOWNLOAD_DIR --os "
            f"{self.os_name} --version {self.version} -f {topology_file}"
        )


def missing_artifacts(
    nodes: Iterable[NodePlan], index: AssetIndex, clusters: Iterable[ClusterPlan] = ()
) -> list[MissingArtifacts]:
    """For each OS version ``nodes`` install, the network-install files the mirror lacks,
    then for each Kubernetes release the nodes' layers among ``clusters`` run, the
    pieces it lacks (``strata.boot.kube_artifacts``); an empty list when nothing is missing."""
    from strata.boot.kube_artifacts import missing_kube_artifacts  # it imports this module

    nodes = list(nodes)
    wanted: dict[tuple[str, str], list[str]] = {}
    for node in nodes:
        wanted.setdefault((node.os_name, node.os_version), []).append(node.name)
    missing = []
    for (os_name, version), names in sorted(wanted.items()):
        files = profile_for(os_name).artifacts.network_install(version)
        absent = tuple(f for f in files if index.get(os_name, version, f) is None)
        if absent:
            where = index.root / os_name / version
            missing.append(MissingArtifacts(os_name, version, absent, tuple(names), where))
    return missing + missing_kube_artifacts(nodes, clusters, index)
