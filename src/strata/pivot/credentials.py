"""Secrets a Topology object refers to (BMC passwords: ``{secret: {name, namespace?,
key}}``, ``strata.topology.fields.SecretRef``), carried with it from one cluster to
another: without them the target's controller could not reach a single BMC.

Each referenced Secret is copied whole (its type, data and labels) into the namespace
the reference names, else the target Topology's; one already there with the same data
is kept, one with other data is refused (it is someone's: never written over). What
this move created is returned, for a rollback to delete. Values are only ever
compared as digests; no message carries one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from strata.store.kube_api import KubeApi, KubeStoreError

__all__ = ["copy_secrets", "digests", "references"]


def references(spec: Any, namespace: str) -> list[tuple[str, str, str]]:
    """(namespace, name, key) of every Secret reference in ``spec`` (a Topology's),
    sorted, each once; a reference naming no namespace is in ``namespace``."""
    found = {
        (str(ref.get("namespace") or namespace), str(ref["name"]), str(ref["key"]))
        for ref in _walk(spec)
    }
    return sorted(found)


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        ref = value.get("secret")
        if isinstance(ref, dict) and "name" in ref and "key" in ref:
            yield ref
        for inner in value.values():
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def _path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/secrets/{name}"


def digests(
    api: KubeApi, refs: list[tuple[str, str, str]], moved: tuple[str, str]
) -> dict[str, str]:
    """``namespace/name/key`` -> SHA-256 of the value ("absent": no such Secret or key);
    ``moved``: (source namespace, target namespace) — a reference in the source's
    namespace is read in the target's."""
    out = {}
    for namespace, name, key in refs:
        there = moved[1] if namespace == moved[0] else namespace
        data = (api.get(_path(there, name)) or {}).get("data") or {}
        out[f"{namespace}/{name}/{key}"] = (
            hashlib.sha256(data[key].encode()).hexdigest() if key in data else "absent"
        )
    return out


def copy_secrets(
    source: KubeApi, target: KubeApi, refs: list[tuple[str, str, str]], moved: tuple[str, str]
) -> list[str]:
    """Copies each referenced Secret; returns ``namespace/name`` of those created.
    ``KubeStoreError`` for a Secret missing in the source or different in the target."""
    created = []
    for namespace, name in sorted({(ns, n) for ns, n, _ in refs}):
        found = source.get(_path(namespace, name))
        if found is None:
            raise KubeStoreError(
                "GET", _path(namespace, name), 404, "a referenced Secret is missing"
            )
        there = moved[1] if namespace == moved[0] else namespace
        metadata = {"name": name, "labels": (found.get("metadata") or {}).get("labels") or {}}
        body = {"apiVersion": "v1", "kind": "Secret", "type": found.get("type") or "Opaque"}
        body |= {"metadata": metadata, "data": found.get("data") or {}}
        if target.create(f"/api/v1/namespaces/{there}/secrets", body) is not None:
            created.append(f"{there}/{name}")
            continue
        kept = target.get(_path(there, name)) or {}
        if json.dumps(kept.get("data"), sort_keys=True) != json.dumps(body["data"], sort_keys=True):
            raise KubeStoreError("POST", _path(there, name), 409, "a Secret of other data is there")
    return created
