"""Conditional writes (docs/pivot.md, "Fenced writes"): an object written only if it
is still as it was read, created only if it is still absent; anything else is
``Fenced``, never retried here (``strata.store.kube_fenced`` says how the copy of
``strata pivot`` uses them)."""

from __future__ import annotations

from strata.store.kube_api import KubeApi, KubeStoreError, Obj
from strata.store.records import Fenced

__all__ = ["Fenced", "put"]


def put(api: KubeApi, path: str, read: Obj | None, body: Obj, collection: str) -> Obj:
    """``body`` written at ``read``'s resourceVersion (PUT to ``path``), or created in
    ``collection`` (POST) when ``read`` is None. ``Fenced`` on a 409 or 404."""
    try:
        if read is None:
            written = api.create(collection, body)
        else:
            metadata = {
                **body.get("metadata", {}),
                "resourceVersion": str(read["metadata"]["resourceVersion"]),
            }
            written = api.replace(path, {**body, "metadata": metadata})
    except KubeStoreError as failure:
        if failure.status != 404:
            raise
        written = None
    if written is None:
        raise Fenced(path)
    return written
