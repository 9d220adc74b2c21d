"""The Kubernetes store's fenced writes, for the copy of ``strata pivot`` (docs/pivot.md,
"Fenced writes"): each write is conditional on what was read *before* the run confirmed
that it still holds the move, so a run stalled past its lease writes nothing over what
another run, or the controller it resumed, wrote since.

The order, per batch: ``read_*`` (one LIST or GET), the caller's confirmation (one read
of the move lease), then ``write_*`` with the objects read: a PUT carries the
``resourceVersion`` read (409 ``Conflict`` when the object moved on since) and an
object absent when read is created with a POST (409 ``AlreadyExists`` when someone made
it since). Either 409, or a 404 for an object deleted since, is ``Fenced``: nothing is
retried here; the caller confirms again and stops, or reads again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strata.store.kube_api import Obj
from strata.store.kube_conditional import Fenced, put
from strata.store.kube_records import as_json
from strata.store.kube_servers import Servers, node_of
from strata.store.records import NodeCopy

__all__ = ["Fenced", "Read", "merged", "put", "read_servers", "status_of", "write_node"]

Read = Mapping[str, Obj | None]  # what was read before the confirmation, by name


def read_servers(servers: Servers) -> dict[str, Obj]:
    """Every Server of the topology, by node (one LIST)."""
    return {node_of(obj): obj for obj in servers.all()}


def write_node(servers: Servers, node: NodeCopy, read: Obj | None) -> Obj:
    """The node's Server as ``node`` has it: its spec (created when ``read`` is None,
    replaced at ``read``'s resourceVersion when it differs), then its status at the
    resourceVersion the spec's write returned (or ``read``'s). ``Fenced`` on a 409/404."""
    api, path = servers.api, servers.path(node.name)
    plan = as_json(node.record.plan) if node.record is not None else {}
    current = read
    if current is None or current.get("spec") != plan:
        metadata = {
            **((current or {}).get("metadata") or {}),
            "name": servers.object_name(node.name),
            "labels": servers._labels(node.name, plan),
        }
        metadata.pop("managedFields", None)
        base = current or {"apiVersion": servers_api_version(servers), "kind": "Server"}
        body = {**base, "metadata": metadata, "spec": plan}
        body.pop("status", None)
        current = put(api, path, current, body, servers.collection)
    meta = current["metadata"]
    kept = {"name": meta["name"], "resourceVersion": meta["resourceVersion"]}
    status_body = {"apiVersion": current["apiVersion"], "kind": current["kind"], "metadata": kept}
    written = put(api, f"{path}/status", current, status_body | {"status": status_of(node)}, "")
    servers.seen[node.name] = written
    return written


def servers_api_version(servers: Servers) -> str:
    """``strata.dev/v1alpha1``, from the collection's path."""
    parts = servers.collection.strip("/").split("/")
    return f"{parts[1]}/{parts[2]}"


def merged(read: Obj | None, data: Mapping[str, str], base: Obj) -> Obj:
    """A ConfigMap's body with ``data`` over what ``read`` held (``base`` when absent)."""
    start = read or base
    return {**start, "data": {**(start.get("data") or {}), **data}}


def status_of(node: NodeCopy) -> dict[str, Any]:
    """A Server's status for ``node`` exactly as the copy has it."""
    attempt = {
        "number": node.attempt,
        "expires": node.expires,
        "provisioned": node.provisioned,
        "consumed": list(node.used),
    }
    status: dict[str, Any] = {"attempt": attempt} if node.attempt else {}
    r = node.record
    if r is not None:
        status |= {
            "state": r.state,
            "step": r.step,
            "reason": r.reason,
            "deadline": r.deadline,
            "marks": as_json(r.marks),
            "version": r.version,
            "updated": r.updated,
            "history": [as_json(h) for h in node.history],
        }
    return status
