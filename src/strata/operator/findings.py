"""A Topology object's spec checked as ``strata validate`` checks topology.yaml: the same
messages, each located at the object's field path (``topologies/lab:
spec.layers[0].distribution.version: …``) instead of a file's line and column.

The spec is the topology document minus ``apiVersion``/``kind``/``metadata``, plus
``spec.consent`` (not part of the document: taken off before the check, read by
``consent``). The document (``objects.topology_document``: the object's name and
labels, its spec without consent) is rebuilt as YAML and checked with
``strata.topology.check_text``; files the document names are not read (``base_dir``
None): in the cluster there is no directory beside the object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from strata.operator.objects import topology_document
from strata.topology import Diagnostic, Topology, check_text
from strata.topology.diagnostics import format_path

__all__ = ["Checked", "check_object", "field_lines", "located"]


@dataclass(frozen=True, slots=True)
class Checked:
    """``topology`` when the spec has no error; ``errors``/``warnings``: located lines."""

    topology: Topology | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    omitted: int = 0  # findings past the checker's bound: counted, not kept


def located(name: str, finding: Diagnostic, lines: Mapping[int, str] | None = None) -> str:
    """``topologies/NAME: spec.PATH: message (hint)``: where in the object, as kubectl
    names fields (``metadata.name`` for the name, ``spec`` for the whole document).
    A line of the rendered document a message names (``already defined (line 52)``)
    is said as the field there (``lines``: ``field_lines``), or dropped: an object has
    no lines."""
    where = _field(finding.path)
    text = f"topologies/{name}: {where}: {_unlined(finding.message, lines or {})}"
    return f"{text} ({_unlined(finding.hint, lines or {})})" if finding.hint else text


def field_lines(text: str) -> dict[int, str]:
    """Each line of the YAML ``text`` (1-based) -> the object's field written there (the
    deepest: a list item's first key rather than the item)."""
    out: dict[int, str] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*path, str(key.value))
                out[key.start_mark.line + 1] = _field(here)
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out.setdefault(item.start_mark.line + 1, _field((*path, i)))
                walk(item, (*path, i))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return out


def check_object(obj: Mapping[str, Any]) -> Checked:
    """Every finding about the object's spec, as ``strata validate`` reports it."""
    name = str(obj.get("metadata", {}).get("name", ""))
    text = yaml.safe_dump(topology_document(obj), sort_keys=False)
    result = check_text(text, f"topologies/{name}", base_dir=None)
    lines = field_lines(text) if result.errors or result.warnings else {}
    return Checked(
        result.topology,
        tuple(located(name, d, lines) for d in result.errors),
        tuple(located(name, d, lines) for d in result.warnings),
        result.omitted,
    )


def _field(path: Sequence[str | int]) -> str:
    head = [] if path and path[0] == "metadata" else ["spec"]
    return format_path([*head, *path])


_LINE = re.compile(r"( ?\(|; |, )line (\d+)(\)?)")


def _unlined(message: str, lines: Mapping[int, str]) -> str:
    """``(line 52)`` -> ``(spec.…)``; ``; line 52)`` -> ``; spec.…)``."""

    def field(match: re.Match[str]) -> str:
        where = lines.get(int(match.group(2)))
        if where is None:
            return ")" if match.group(1).strip() != "(" and match.group(3) else ""
        return f"{match.group(1)}{where}{match.group(3)}"

    return _LINE.sub(field, message)
