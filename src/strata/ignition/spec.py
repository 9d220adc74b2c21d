"""Ignition config spec versions: their official schemas, and which keys each one knows.

Specs 3.0.0 to 3.5.0 only add to one another: a key a config uses exists from some spec
on and in every later one (coreos/ignition ``config/v3_*/types``; docs/migrating-configs:
no key was renamed or removed within spec 3). So a config is written in an older spec by
setting ``ignition.version`` — as long as it uses no key newer than that spec;
``newer_keys`` finds such keys and the first spec that has each.

The schemas (``schemas/vX_Y.json``) are coreos/ignition ``config/vX_Y/schema/ignition.json``
at commit a5d574a8 (Apache-2.0), identical to ``shared/schemas/ignition`` (a test keeps
them so). They are read with ``json`` only; jsonschema validation lives in ``fragment``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from strata.topology.os_releases import spec_key

__all__ = ["SPECS", "newer_keys", "schema", "unknown_keys"]

SPECS = ("3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0")
"""Every spec Strata writes or checks, oldest first (a schema for each is vendored)."""


@cache
def schema(version: str) -> Mapping[str, Any]:
    """The official JSON schema of spec ``version`` (``3.4.0`` -> ``schemas/v3_4.json``)."""
    name = f"v{version.rsplit('.', 1)[0].replace('.', '_')}.json"
    text = resources.files("strata.ignition").joinpath("schemas", name).read_text()
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


def unknown_keys(value: Any, version: str) -> list[tuple[str | int, ...]]:
    """Paths of keys that spec ``version``'s schema does not declare at their place."""
    root = schema(version)
    return _unknown(value, root, root, ())


def newer_keys(
    config: Mapping[str, Any], version: str
) -> list[tuple[tuple[str | int, ...], str | None]]:
    """Keys of ``config`` that spec ``version`` lacks, each with the first later spec that
    has it (None: no spec has it — a typo, not a newer field)."""
    later = [s for s in SPECS if spec_key(s) > spec_key(version)]
    unknown_in = {s: set(unknown_keys(config, s)) for s in later}  # once per spec, not per key
    out: list[tuple[tuple[str | int, ...], str | None]] = []
    for path in unknown_keys(config, version):
        since = next((s for s in later if path not in unknown_in[s]), None)
        out.append((path, since))
    return out


def _unknown(
    value: Any, node: Mapping[str, Any], root: Mapping[str, Any], path: tuple[str | int, ...]
) -> list[tuple[str | int, ...]]:
    """Keys no schema (or ``allOf`` branch) at their place declares, found by walking both."""
    branches = list(_branches(node, root))
    out: list[tuple[str | int, ...]] = []
    if isinstance(value, dict):
        known: dict[str, Mapping[str, Any]] = {}
        for branch in branches:
            known.update(branch.get("properties", {}))
        if not known:
            return out
        for key, item in value.items():
            if key in known:
                out += _unknown(item, known[key], root, (*path, key))
            else:
                out.append((*path, key))
    elif isinstance(value, list):
        items = [b["items"] for b in branches if isinstance(b.get("items"), dict)]
        for i, item in enumerate(value):
            for each in items:
                out += _unknown(item, each, root, (*path, i))
    return out


def _branches(node: Mapping[str, Any], root: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """``node`` with its ``$ref`` followed, and each of its ``allOf`` branches."""
    while "$ref" in node:
        node = _resolve(node["$ref"], root)
    yield node
    for branch in node.get("allOf", ()):
        yield from _branches(branch, root)


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A local JSON pointer (``#/definitions/…``), the only kind Ignition's schemas use."""
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    resolved: Mapping[str, Any] = target
    return resolved
