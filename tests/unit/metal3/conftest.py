"""Each example topology copied where its credentials can be read: the environment
variables set, the password files written owner-only, as a person does before
`strata apply`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from strata.metal3.export import ExportOptions
from strata.topology import Topology, check_file
from strata.topology.fields import SecretRef

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*/topology.yaml"))
PASSWORD = "Pa55-metal3-export"


def readable_example(example: Path, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Topology:
    """The example copied into ``directory`` with every credential resolvable."""
    target = directory / example.parent.name / "topology.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(example, target)
    checked = check_file(target)
    assert checked.topology is not None
    for spec in checked.topology.credentials.values():
        _provide(spec.password, target.parent, monkeypatch)
    return checked.topology


def _provide(ref: SecretRef, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if ref.env is not None:
        monkeypatch.setenv(ref.env, PASSWORD)
    elif ref.file is not None:
        path = directory / ref.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PASSWORD + "\n")
        path.chmod(0o600)


IMAGE_BASE = "http://images.example:8080/os"


def mirror(topology: Topology, directory: Path) -> Path:
    """An artifact mirror under ``directory`` whose sha256 sidecar files list the disk
    image of every OS release the topology runs (what an export's image checksum reads)."""
    from strata.ignition import profile_for

    for release in {(n.os.name, n.os.version) for n in topology.nodes}:
        disk = profile_for(release[0]).artifacts.names(release[1])["disk_image"]
        folder = directory / release[0] / release[1]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{disk}.sha256").write_text("cd" * 32 + "\n")
    return directory


def options(topology: Topology, directory: Path, **more: Any) -> ExportOptions:
    """What a person gives to export Cluster API objects: the image base and a mirror."""
    return ExportOptions(
        image_base=IMAGE_BASE, artifacts=mirror(topology, directory / "mirror"), **more
    )
