"""Deletes of the move's rollback and way back (docs/pivot.md, "Failures and how to
recover"), each conditional on the object as read: ``DELETE`` with
``preconditions.resourceVersion`` (Kubernetes API, DeleteOptions), so an object that
someone changed between the read and the delete is kept — said, with why — and never
deleted by a blind retry."""

from __future__ import annotations

from strata.pivot.edits import edited
from strata.store.kube_api import KubeApi, Obj, short_path

__all__ = ["delete_read"]


def delete_read(
    api: KubeApi, path: str, there: Obj | None = None, recorded: dict[str, str] | None = None
) -> str | None:
    """Deletes the object at ``path`` at the resourceVersion of ``there`` (read here
    when not given). None when it is deleted or absent; a line saying it was kept and
    why when it was edited since the move ``recorded`` it (``edits.edited``), or
    changed between the read and the delete (409)."""
    there = api.get(path) if there is None else there
    if there is None:
        return None
    change = edited(there, recorded)
    if change is not None:
        return f"kept {short_path(path)}: edited since the move made it ({change})"
    version = str(there["metadata"]["resourceVersion"])
    if api.delete(path, version) or api.get(path) is None:
        return None
    return f"kept {short_path(path)}: changed while it was deleted (resourceVersion {version} read): not deleted"
