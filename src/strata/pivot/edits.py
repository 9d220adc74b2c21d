"""Whether an object a move made in a cluster was edited there since (a way back
removes what the move away made, but never an edit a person made after it).

A move records, in its journal's ``created["versions"]``, the ``metadata.generation``
and ``metadata.resourceVersion`` of each Topology object and Secret it made (Kubernetes
API conventions: ``generation`` counts changes of a spec, ``resourceVersion`` of the
whole object). A Topology is edited when its generation moved (its status, written by
its controller, moves only the resourceVersion); a Secret when its resourceVersion did.
"""

from __future__ import annotations

from typing import Any

from strata.store.kube_api import KubeApi

__all__ = ["edited", "tracked", "versions"]


def tracked(path: str) -> bool:
    """Whether an edit of the object at ``path`` is watched (a Topology or a Secret)."""
    return "/topologies/" in path or "/secrets/" in path


def versions(api: KubeApi, paths: list[str]) -> dict[str, dict[str, Any]]:
    """``{path: {"generation": int, "resourceVersion": str}}`` of each tracked object
    at ``paths`` as it is now (one GET each; absent ones left out)."""
    found: dict[str, dict[str, Any]] = {}
    for path in filter(tracked, paths):
        meta = (api.get(path) or {}).get("metadata")
        if meta:
            found[path] = {
                "generation": meta.get("generation"),
                "resourceVersion": meta.get("resourceVersion"),
            }
    return found


def edited(there: dict[str, Any] | None, recorded: dict[str, Any] | None) -> str | None:
    """How the object ``there`` (as read now) differs from what the move ``recorded``
    (``versions``' entry): "generation 1 -> 2", "resourceVersion 10 -> 14"; None when
    it is as made, absent, or nothing was recorded (a journal from before)."""
    if there is None or not recorded:
        return None
    meta = there.get("metadata") or {}
    if there.get("kind") == "Topology":
        was, now, what = recorded.get("generation"), meta.get("generation"), "generation"
    else:
        was, now = recorded.get("resourceVersion"), meta.get("resourceVersion")
        what = "resourceVersion"
    return None if was == now else f"{what} {was} -> {now}"
