"""Merge Ignition configs the way Ignition merges a parent with a child config.

Ignition's rules (docs/operator-notes.md, "Config merging"): a child's
scalar fields replace the parent's; objects merge field by field; a list
whose entries are identified by a key (a file's ``path``, a unit's
``name``, a user's ``name``, …) merges entry by entry — an entry whose key
is in both merges field by field, others are appended in order; lists of
plain values (``sshAuthorizedKeys``, ``groups``) are unions. The
``ignition`` section (version, config references) is the parent's.
"""

from __future__ import annotations

import copy
from typing import Any

from strata.ignition.config import Config

__all__ = ["KEYS", "merge"]

# Identity of entries in keyed lists, by list name (Ignition config/merge, "keys").
KEYS = {
    "files": "path",
    "directories": "path",
    "links": "path",
    "disks": "device",
    "partitions": "label",
    "filesystems": "device",
    "raid": "name",
    "luks": "name",
    "units": "name",
    "dropins": "name",
    "users": "name",
    "groups": "name",
    "trees": "path",
}


def merge(parent: Config, child: Config) -> Config:
    merged = _merge_objects(copy.deepcopy(parent), child, ())
    merged["ignition"] = copy.deepcopy(parent.get("ignition", {}))
    return merged


def _merge_objects(
    parent: dict[str, Any], child: dict[str, Any], path: tuple[str, ...]
) -> dict[str, Any]:
    for field, value in child.items():
        if path == () and field == "ignition":
            continue
        old = parent.get(field)
        if isinstance(old, dict) and isinstance(value, dict):
            parent[field] = _merge_objects(old, value, (*path, field))
        elif isinstance(old, list) and isinstance(value, list):
            parent[field] = _merge_lists(field, old, value, (*path, field))
        else:
            parent[field] = copy.deepcopy(value)
    return parent


def _merge_lists(field: str, old: list[Any], new: list[Any], path: tuple[str, ...]) -> list[Any]:
    key = KEYS.get(field)
    if key is None or not all(isinstance(e, dict) for e in (*old, *new)):
        return old + [copy.deepcopy(v) for v in new if v not in old]  # plain values: a union
    index = {entry.get(key): i for i, entry in enumerate(old)}
    for entry in new:
        at = index.get(entry.get(key))
        if at is None:
            index[entry.get(key)] = len(old)
            old.append(copy.deepcopy(entry))
        else:
            old[at] = _merge_objects(old[at], entry, path)
    return old
