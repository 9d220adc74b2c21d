"""Each example topology copied where its credentials can be read: the environment
variables set, the password files written owner-only, as a person does before
`strata apply`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
