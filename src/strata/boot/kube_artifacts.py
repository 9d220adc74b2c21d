"""The Kubernetes pieces in the artifact mirror: importing them, their SHA-256 sums for
the Ignition builder, and the preflight's list of what a layer's nodes would miss.

The layout and the file names per OS family are ``strata.ignition.kube_artifacts``'s
(``kubernetes/v1.31.2/…``, ``k3s/v1.31.2+k3s1/…``). ``strata artifacts import DIR --os
kubernetes --version 1.31.2`` (or ``--os k3s --version 1.31.2+k3s1``) copies every piece
of that release found in DIR, each checked against the digests published beside it:
dl.k8s.io's ``NAME.sha256`` sidecars, k3s's ``sha256sum-amd64.txt``, the sysext
bakery's ``SHA256SUMS`` (``strata.boot.checksums``), and lists it in the directory's
``SHA256SUMS``, which ``mirror_ref`` reads back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from strata.boot.assets import ArtifactImportError, AssetIndex, import_named
from strata.boot.preflight import MissingArtifacts
from strata.ignition.kube import MirrorRef
from strata.ignition.kube_artifacts import DIRECTORIES, kube_artifacts, mirror_release
from strata.plan import ClusterPlan, NodePlan

__all__ = [
    "KUBE_DIRECTORIES",
    "import_kube_artifacts",
    "kube_release",
    "mirror_ref",
    "missing_kube_artifacts",
]

KUBE_DIRECTORIES = tuple(DIRECTORIES.values())
"""What ``strata artifacts import --os`` takes for the Kubernetes pieces."""
_DISTRIBUTION = {directory: name for name, directory in DIRECTORIES.items()}
_OS_FAMILIES = ("flatcar", "fcos")  # one of each: sysext image, programs (rhcos = fcos's)


def kube_release(directory: str, version: str) -> str:
    """The release tag ``directory``'s files of ``version`` are filed under
    (``kubernetes``, ``1.31.2`` -> ``v1.31.2``). Raises VersionError (exit 2) for a
    version Strata does not support."""
    return mirror_release(_DISTRIBUTION[directory], version)


def import_kube_artifacts(source: Path, root: Path, directory: str, release: str) -> list[str]:
    """Copy the pieces of ``directory`` ``release`` (a tag, ``kube_release``) found in
    ``source`` into ``root/DIRECTORY/RELEASE``, verified; returns the names copied.
    Nodes of every OS family are served from one import: whatever of the sysext image
    and the programs is in ``source`` is taken."""
    distribution = _DISTRIBUTION.get(directory)
    if distribution is None:
        raise ArtifactImportError(f"{directory!r} is not one of {', '.join(KUBE_DIRECTORIES)}")
    names = dict.fromkeys(
        a.name for family in _OS_FAMILIES for a in kube_artifacts(family, distribution, release)
    )
    return import_named(source, root, directory, release, list(names))


def mirror_ref(root: Path, base_url: str, clusters: Iterable[ClusterPlan]) -> MirrorRef:
    """The mirror as the Ignition builder needs it: ``base_url`` (machines' view of
    ``/assets``) and the SHA-256 of every Kubernetes file ``clusters`` use, from the
    ``SHA256SUMS`` the import wrote. A file not listed is left out (the builder then
    refuses the node, naming it; the preflight reports it first)."""
    sums: dict[str, str] = {}
    for cluster in clusters:
        directory = DIRECTORIES[cluster.distribution]
        release = mirror_release(cluster.distribution, cluster.version)
        for name, digest in _listing(root / directory / release / "SHA256SUMS").items():
            sums[f"{directory}/{release}/{name}"] = digest
    return MirrorRef(base_url.rstrip("/"), sums)


def missing_kube_artifacts(
    nodes: Iterable[NodePlan], clusters: Iterable[ClusterPlan], index: AssetIndex
) -> list[MissingArtifacts]:
    """For each Kubernetes release ``nodes`` install (through their layer in
    ``clusters``), the files the mirror lacks for those nodes' OS families — absent, or
    present but not in the release's ``SHA256SUMS`` (copied in by hand: no digest for
    the node's config); empty when nothing is missing. A node of no listed layer needs
    nothing."""
    layers = {c.name: c for c in clusters}
    wanted: dict[tuple[str, str], dict[str, list[str]]] = {}
    for node in nodes:
        cluster = layers.get(node.layer)
        if cluster is None:
            continue
        for a in kube_artifacts(node.os_name, cluster.distribution, cluster.version):
            wanted.setdefault((a.directory, a.release), {}).setdefault(a.name, []).append(node.name)
    missing = []
    for (directory, release), files in sorted(wanted.items()):
        listed = _listing(index.root / directory / release / "SHA256SUMS")
        # a file the import did not list has no SHA-256 for the node's config: missing too
        absent = [
            name
            for name in files
            if index.get(directory, release, name) is None or name not in listed
        ]
        if absent:
            needing = dict.fromkeys(n for name in absent for n in files[name])
            where = index.root / directory / release
            missing.append(
                MissingArtifacts(directory, release, tuple(absent), tuple(needing), where)
            )
    return missing


def _listing(path: Path) -> Mapping[str, str]:
    """``NAME -> hex`` of a ``SHA256SUMS`` the import wrote; empty when there is none."""
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            found[parts[1]] = parts[0].lower()
    return found
