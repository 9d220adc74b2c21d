"""Clearing a topology's state from a namespace (``KubeMove.clear``, for a move's
install and rollback: docs/pivot.md, "Failures and how to recover") — only what the
store itself wrote, each object by name at the resourceVersion it was read at.

Not a delete by label selector (a DELETE of the collection), which also removes any
object another party labelled ``strata.dev/topology=<topology>``. Here each candidate
(found by that label, or by its fixed name) is checked to be of the store's own shape
(a Server named ``<topology>.<node>`` of its ``strata.dev/node`` label; a log segment
``<topology>-log-NNNNNNNN`` holding only entries; the cursors and unknown-machines
ConfigMaps; a layer's cluster Secret ``<topology>-cluster-<layer>``) and to have been
written by Strata only (every ``metadata.managedFields`` manager ``strata``, the
API server's name for the User-Agent ``KubeApi`` sends), then deleted with a
``preconditions.resourceVersion``: one changed since it was read is not deleted. Every
object kept is said, with why; the notes ConfigMap and the writer Lease are not
candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from strata.store.kube_api import USER_AGENT, KubeApi, Obj, short_path
from strata.store.kube_records import RecordWriter

__all__ = ["MANAGER", "clear"]

MANAGER = USER_AGENT  # the field manager of the store's writes
Candidate = tuple[str, Obj, str | None]  # path, object, why it is not the store's (None: it is)


def clear(
    api: KubeApi, namespace: str, topology: str, servers: str, writer: RecordWriter
) -> list[str]:
    """Deletes the store's own objects of ``topology`` in ``namespace`` (``servers``: the
    Servers' collection path), in parallel on ``writer``'s pool. Returns a line per
    object kept: what, and why."""
    found = list(_candidates(api, namespace, topology, servers))
    kept = [f"kept {short_path(path)}: {why}" for path, _, why in found if why is not None]
    ours = [(path, obj) for path, obj, why in found if why is None]
    by_path = dict(ours)
    moved = writer._map(lambda path: _deleted(api, path, by_path[path]), list(by_path))
    return kept + [line for line in moved if line is not None]


def _deleted(api: KubeApi, path: str, obj: Obj) -> str | None:
    """None once deleted (or gone already); a line when it changed since it was read."""
    version = str(obj["metadata"]["resourceVersion"])
    if api.delete(path, version) or api.get(path) is None:
        return None
    return (
        f"kept {short_path(path)}: changed since it was read (resourceVersion {version}): "
        "not deleted, someone wrote it meanwhile"
    )


def _candidates(api: KubeApi, namespace: str, topology: str, servers: str) -> Iterator[Candidate]:
    selector = f"strata.dev/topology={topology}"
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    secrets = f"/api/v1/namespaces/{namespace}/secrets"
    for obj in api.items(servers, selector):
        node = (obj["metadata"].get("labels") or {}).get("strata.dev/node")
        named = obj["metadata"]["name"] == f"{topology}.{node}"
        yield _candidate(servers, obj, None if named else "not named <topology>.<its node>")
    segment = re.compile(rf"^{re.escape(topology)}-log-\d{{8}}$")
    for obj in api.items(configmaps, f"{selector},strata.dev/log=segment"):
        shaped = segment.match(obj["metadata"]["name"]) and set(obj.get("data") or {}) <= {
            "entries",
            "closed",
        }
        yield _candidate(configmaps, obj, None if shaped else "not a log segment's shape")
    for name in ("cursors", "unknown-machines"):
        fixed = api.get(f"{configmaps}/{topology}-{name}")
        if fixed is not None:
            labels = fixed["metadata"].get("labels") or {}
            labelled = labels.get("strata.dev/topology") == topology
            yield _candidate(configmaps, fixed, None if labelled else "not labelled the topology's")
    for obj in api.items(secrets, f"{selector},strata.dev/secret=cluster"):
        layer = (obj["metadata"].get("labels") or {}).get("strata.dev/layer")
        named = obj["metadata"]["name"] == f"{topology}-cluster-{layer}"
        yield _candidate(secrets, obj, None if named else "not named <topology>-cluster-<layer>")


def _candidate(collection: str, obj: Obj, why: str | None) -> Candidate:
    path = f"{collection}/{obj['metadata']['name']}"
    others = sorted(
        {str(f.get("manager")) for f in obj["metadata"].get("managedFields") or []} - {MANAGER}
    )
    if why is None and others:
        why = f"written by {', '.join(others)} too, not by Strata only"
    return path, obj, why
