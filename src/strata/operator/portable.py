"""A topology document made fit for the cluster: what it names on the workstation's
disk is inlined or refused before `strata topology apply` sends it.

The in-cluster controller has no directory beside the object (``base_dir`` None), so a
file reference would fail there later, on every node. An Ignition fragment ``file`` is
read (with the same checks as `strata validate`: ``strata.topology.named_files``) and
sent as ``inline``; a BMC ``caBundle`` and a credentials ``password: {file: …}`` have
no inline form and are refused, located, with what to write instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.topology.diagnostics import Path as DocPath
from strata.topology.file_contents import parse_fragment
from strata.topology.named_files import IGNITION_FRAGMENT, NamedFileError, NamedFiles

__all__ = ["Refusal", "portable"]

CA_HINT = (
    "the in-cluster controller cannot read a file beside topology.yaml: leave caBundle out "
    "of what you apply (the BMC's certificate is then checked against the image's trust "
    "store), or keep this topology in bootstrap mode (`strata apply`)"
)
PASSWORD_HINT = (
    "keep the password in a Kubernetes Secret the controller reads: "
    "password: {secret: {name: bmc-credentials, key: password}}"
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """What cannot be sent, at ``path`` in the document."""

    path: DocPath
    message: str
    hint: str | None = None


def portable(document: dict[str, Any], base_dir: Path) -> tuple[dict[str, Any], list[Refusal]]:
    """A copy of ``document`` (a topology document as loaded) with each Ignition fragment
    file inlined (read from ``base_dir`` and ``STRATA_ALLOWED_DIRS``), and what cannot be
    sent. Raises nothing: a file that cannot be read is a ``Refusal``."""
    copy: dict[str, Any] = json.loads(json.dumps(document, default=str))
    refusals: list[Refusal] = []
    files: NamedFiles | None = None
    for path, holder, key in _references(copy, ()):
        if key == "ignition":
            if files is None:
                files = NamedFiles.beside(base_dir)
            _inline(holder, path, files, refusals)
        elif key == "caBundle":
            refusals.append(
                Refusal(path, "a CA bundle file cannot be sent to the cluster", CA_HINT)
            )
        else:
            refusals.append(
                Refusal(path, "a password file cannot be sent to the cluster", PASSWORD_HINT)
            )
    return copy, refusals


def _references(node: Any, path: DocPath) -> Iterator[tuple[DocPath, dict[str, Any], str]]:
    """Every file reference below ``node``: (its path, the mapping holding it, its kind)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _references(item, (*path, i))
        return
    if not isinstance(node, dict):
        return
    if path and path[-1] == "inline":  # an Ignition config: its own keys, not Strata's
        return
    fragments = node.get("ignition")
    if isinstance(fragments, list):
        for i, fragment in enumerate(fragments):
            if isinstance(fragment, dict) and isinstance(fragment.get("file"), str):
                yield (*path, "ignition", i, "file"), fragment, "ignition"
    bmc = node.get("bmc")
    if isinstance(bmc, dict) and bmc.get("caBundle") is not None:
        yield (*path, "bmc", "caBundle"), bmc, "caBundle"
    fallback = bmc.get("fallback") if isinstance(bmc, dict) else None
    if isinstance(fallback, dict) and fallback.get("caBundle") is not None:
        yield (*path, "bmc", "fallback", "caBundle"), fallback, "caBundle"
    password = node.get("password")
    if isinstance(password, dict) and password.get("file") is not None:
        yield (*path, "password", "file"), password, "password"
    for key, value in node.items():
        if key != "ignition":
            yield from _references(value, (*path, key))


def _inline(fragment: dict[str, Any], path: DocPath, files: NamedFiles, out: list[Refusal]) -> None:
    name = fragment["file"]
    try:
        parsed = parse_fragment(files.read(name, IGNITION_FRAGMENT), name)
    except NamedFileError as exc:
        out.append(Refusal(path, exc.message))
        return
    del fragment["file"]
    fragment["inline"] = json.loads(json.dumps(parsed.data))
