"""What verify compares: an inventory of a store's state (counts, and a digest of each
node, of each log entry copied, of each layer's secrets and of the token key), the
same on both ends or the move does not go on.

A digest is the SHA-256 of the value's canonical JSON (keys sorted, no spaces, UTF-8;
a number with no fraction written as an integer, since the Kubernetes API server's
JSON writes ``1234.0`` as ``1234``). Secrets are only ever compared as digests and
never printed, nor their digests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from strata.store import LogEntry, MovableStore, NodeCopy
from strata.store.clusters import StoredCluster

__all__ = ["Inventory", "canonical", "differences", "entry_digest", "inventory", "node_digest"]

EVERY = 10**9  # events_since's limit when the whole log is wanted


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def canonical(value: Any) -> str:
    return json.dumps(_normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def node_digest(node: NodeCopy, history: bool) -> str:
    """The node's record (every field, its version and time), attempt and used token
    stages; its kept history too when ``history`` (both ends keep one)."""
    r = node.record
    record = None
    if r is not None:
        record = [r.name, r.version, r.state, r.step, r.reason, dict(r.plan), r.updated]
        record += [r.deadline, dict(r.marks)]
    value: list[Any] = [node.name, record, node.attempt, node.expires, node.provisioned]
    value.append(sorted(node.used))
    if history:
        value.append([dict(h) for h in node.history])
    return _sha(value)


def entry_digest(entry: LogEntry) -> str:
    """A log entry without its id (each store numbers its own log)."""
    return _sha([entry.node, entry.at, entry.kind, dict(entry.detail)])


def _cluster_digest(row: StoredCluster | None) -> str:
    if row is None:
        return "absent"
    fields = [row.layer, row.pki, row.token, row.token_expires, row.certificate_key]
    return _sha([*fields, row.created, row.rotated])


@dataclass
class Inventory:
    """A store's state as verify compares it (see the module's docstring)."""

    nodes: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    cursors: dict[str, int] = field(default_factory=dict)
    clusters: dict[str, str] = field(default_factory=dict)
    token_key: str = ""

    def counts(self) -> dict[str, int]:
        return {
            "nodes": len(self.nodes),
            "log entries": len(self.log),
            "cursors": len(self.cursors),
            "layers' secrets": len(self.clusters),
        }


def inventory(store: MovableStore, history: bool, log_from: int = 0) -> Inventory:
    """``store``'s inventory; the log from its ``log_from``-th entry (0: the first)."""
    return Inventory(
        nodes={n.name: node_digest(n, history) for n in store.export_nodes()},
        log=[entry_digest(e) for e in store.events_since(0, EVERY)[log_from:]],
        cursors=store.cursors(),
        clusters={layer: _cluster_digest(store.cluster(layer)) for layer in store.cluster_layers()},
        token_key=hashlib.sha256(store.token_key()).hexdigest(),
    )


def differences(source: Inventory, target: Inventory, cursors: dict[str, int]) -> list[str]:
    """What differs, said without a secret; ``cursors``: the source's cursors as they
    read in the target's log (``strata.pivot.copying.cursor_map``). Empty: equal."""
    found = []
    if source.counts() != target.counts():
        found.append(f"counts differ: source {source.counts()}, target {target.counts()}")
    missing = sorted(set(source.nodes) - set(target.nodes))
    extra = sorted(set(target.nodes) - set(source.nodes))
    changed = sorted(
        n for n in source.nodes if n in target.nodes and source.nodes[n] != target.nodes[n]
    )
    for what, names in (("missing in the target", missing), ("only in the target", extra)):
        if names:
            found.append(f"nodes {what}: {', '.join(names[:10])}")
    if changed:
        found.append(f"nodes whose digest differs: {', '.join(changed[:10])}")
    first = next(
        (i for i, (a, b) in enumerate(zip(source.log, target.log, strict=False)) if a != b), None
    )
    if first is not None:
        found.append(f"the log differs from its copied entry {first + 1} on")
    if cursors != target.cursors:
        found.append(f"cursors: expected {cursors}, the target has {target.cursors}")
    if source.clusters != target.clusters:
        found.append(
            f"layers' secrets differ: {sorted(source.clusters)} / {sorted(target.clusters)}"
        )
    if source.token_key != target.token_key:
        found.append("the boot service's token key differs")
    return found
