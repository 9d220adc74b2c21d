"""Read the Ignition fragments topology.yaml names, once, when the service starts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from strata.ignition import Config
from strata.topology import Topology

__all__ = ["FragmentError", "load_fragments"]


class FragmentError(Exception):
    """A fragment file is missing or is not a JSON or YAML mapping."""


def load_fragments(topology: Topology, base_dir: Path) -> Mapping[str, tuple[Config, ...]]:
    files: dict[str, Config] = {}
    out: dict[str, tuple[Config, ...]] = {}
    for node in topology.nodes:
        if not node.ignition:
            continue
        loaded = []
        for fragment in node.ignition:
            if fragment.inline is not None:
                loaded.append(dict(fragment.inline))
            else:
                assert fragment.file is not None
                if fragment.file not in files:
                    files[fragment.file] = _read(base_dir / fragment.file, fragment.name)
                loaded.append(files[fragment.file])
        out[node.name] = tuple(loaded)
    return out


def _read(path: Path, name: str) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FragmentError(
            f"Ignition fragment {name}: cannot read {path}: {exc.strerror}"
        ) from None
    try:
        data: Any = (
            json.loads(text)
            if path.suffix in (".ign", ".json")
            else YAML(typ="safe", pure=True).load(text)
        )
    except Exception as exc:  # either parser's error, reported with the file
        raise FragmentError(f"Ignition fragment {name}: {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise FragmentError(f"Ignition fragment {name}: {path} must hold a mapping")
    return data
