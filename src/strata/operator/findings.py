"""A Topology object's spec checked as ``strata validate`` checks topology.yaml: the same
messages, each located at the object's field path (``topologies/lab:
spec.layers[0].distribution.version: …``) instead of a file's line and column.

The spec is the topology document minus ``apiVersion``/``kind``/``metadata``, plus
``spec.consent`` (not part of the document: taken off before the check, read by
``consent``). The document is rebuilt as YAML from the object and checked with
``strata.topology.check_text``; files the document names are not read (``base_dir``
None): in the cluster there is no directory beside the object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from strata.topology import API_VERSION, Diagnostic, Topology, check_text
from strata.topology.diagnostics import format_path

__all__ = ["Checked", "check_object", "document_of", "located"]

CONSENT = "consent"
_DOCUMENT_HEAD = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True, slots=True)
class Checked:
    """``topology`` when the spec has no error; ``errors``/``warnings``: located lines."""

    topology: Topology | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    omitted: int = 0  # findings past the checker's bound: counted, not kept


def document_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The topology document a Topology object carries: its spec without ``consent``,
    under the document's own apiVersion/kind and the object's name."""
    spec = dict(obj.get("spec") or {})
    spec.pop(CONSENT, None)
    name = obj.get("metadata", {}).get("name", "")
    head = {"apiVersion": API_VERSION, "kind": "Topology", "metadata": {"name": name}}
    return {**head, **{k: v for k, v in spec.items() if k not in _DOCUMENT_HEAD}}


def located(name: str, finding: Diagnostic) -> str:
    """``topologies/NAME: spec.PATH: message (hint)``: where in the object, as kubectl
    names fields (``metadata.name`` for the name, ``spec`` for the whole document)."""
    path: Sequence[str | int] = finding.path
    head = [] if path and path[0] == "metadata" else ["spec"]
    where = format_path([*head, *path])
    text = f"topologies/{name}: {where}: {finding.message}"
    return f"{text} ({finding.hint})" if finding.hint else text


def check_object(obj: Mapping[str, Any]) -> Checked:
    """Every finding about the object's spec, as ``strata validate`` reports it."""
    name = str(obj.get("metadata", {}).get("name", ""))
    text = yaml.safe_dump(document_of(obj), sort_keys=False)
    result = check_text(text, f"topologies/{name}", base_dir=None)
    return Checked(
        result.topology,
        tuple(located(name, d) for d in result.errors),
        tuple(located(name, d) for d in result.warnings),
        result.omitted,
    )
