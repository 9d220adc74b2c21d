"""The Kubernetes store's side of ``MovableStore`` (``strata.store.records``): its whole
state read out and written in as it was, for ``strata pivot`` (docs/pivot.md).

A mixin of ``KubeStore``. A node is written as two requests at most, each atomic: its
Server's ``spec`` (the plan, with its labels; the object created when absent), then
its ``status`` exactly as given (record, attempt, used stages, history) — an imported
node is whole once its status is written. Notes live in the ConfigMap
``<topology>-notes``, each change a compare-and-swap on its ``resourceVersion``;
``clear`` leaves that ConfigMap and the writer Lease alone.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from strata.errors import StrataError
from strata.store.kube_api import KubeApi, Obj
from strata.store.kube_log import EventLog
from strata.store.kube_records import RecordWriter, as_json
from strata.store.kube_secrets import KubeSecrets
from strata.store.kube_servers import Servers, node_of, record_of
from strata.store.records import LogEntry, NodeCopy

__all__ = ["KubeMove"]

_ATTEMPTS = 20


class KubeMove:
    api: KubeApi
    topology: str
    servers: Servers
    log: EventLog
    writer_of_records: RecordWriter
    secrets: KubeSecrets
    _configmaps: str

    def export_nodes(self) -> list[NodeCopy]:
        return sorted((_copy(obj) for obj in self.servers.all()), key=lambda n: n.name)

    def import_nodes(self, nodes: Sequence[NodeCopy]) -> None:
        by_name = {n.name: n for n in nodes}
        self.writer_of_records._map(lambda name: self._import(by_name[name]), list(by_name))

    def _import(self, node: NodeCopy) -> None:
        plan = as_json(node.record.plan) if node.record is not None else {}
        current = self.servers.get(node.name) or self.servers.create(node.name, plan)
        if current.get("spec") != plan:
            metadata = dict(current["metadata"])
            metadata["labels"] = self.servers._labels(node.name, plan)
            body = {**current, "metadata": metadata, "spec": plan}
            current = self.api.replace(self.servers.path(node.name), body) or {}
            if not current:
                raise _Moved(node.name)
        body = {k: v for k, v in current.items() if k != "spec"} | {"status": _status(node)}
        written = self.api.replace(self.servers.path(node.name, "/status"), body)
        if written is None:
            raise _Moved(node.name)
        self.servers.seen[node.name] = written

    def append_log(self, entries: Sequence[LogEntry]) -> None:
        self.log.append([(e.node, e.at, e.kind, as_json(e.detail)) for e in entries])

    def cursors(self) -> dict[str, int]:
        found = self.api.get(f"{self._configmaps}/{self.topology}-cursors")
        return {k: int(v) for k, v in ((found or {}).get("data") or {}).items()}

    def cluster_layers(self) -> list[str]:
        selector = f"strata.dev/topology={self.topology},strata.dev/secret=cluster"
        found = self.api.items(self.secrets._collection, selector)
        return sorted(s["metadata"]["labels"]["strata.dev/layer"] for s in found)

    def put_token_key(self, key: bytes) -> None:
        name = f"{self.topology}-boot-token-key"
        data = {"key": base64.b64encode(key).decode("ascii")}
        body = self.secrets._secret(name, {"key": key}, "boot-token-key")
        for _ in range(_ATTEMPTS):
            kept = self.api.get(self.secrets._path(name))
            if kept is None and self.api.create(self.secrets._collection, body) is not None:
                break
            if kept is not None and self.api.replace(
                self.secrets._path(name), {**kept, "data": data}
            ):
                break
        else:
            raise _Moved(name)
        self.secrets._key = None

    def clear(self) -> None:
        topology = f"strata.dev/topology={self.topology}"
        servers = self.servers.collection
        self.api.delete(f"{servers}?labelSelector={topology}")
        self.api.delete(f"{self._configmaps}?labelSelector={topology},strata.dev/log=segment")
        for name in ("cursors", "unknown-machines"):
            self.api.delete(f"{self._configmaps}/{self.topology}-{name}")
        secrets = f"{topology},strata.dev/secret=cluster"
        self.api.delete(f"{self.secrets._collection}?labelSelector={secrets}")
        self.servers.seen.clear()
        self.servers.listed = False
        self.log._head, self.log._sealed, self.log._newest = None, {}, 0

    def note(self, key: str) -> str | None:
        found = self.api.get(self._notes())
        value = ((found or {}).get("data") or {}).get(key)
        return None if value is None else str(value)

    def set_note(self, key: str, value: str | None, expected: str | None) -> bool:
        for _ in range(_ATTEMPTS):
            found = self.api.get(self._notes())
            data = dict((found or {}).get("data") or {})
            if data.get(key) != expected:
                return False
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
            if found is None:
                labels = {"strata.dev/topology": self.topology, "strata.dev/notes": "true"}
                metadata = {"name": f"{self.topology}-notes", "labels": labels}
                body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
                if self.api.create(self._configmaps, body) is not None:
                    return True
            elif self.api.replace(self._notes(), {**found, "data": data}) is not None:
                return True
        raise _Moved(f"{self.topology}-notes")

    def _notes(self) -> str:
        return f"{self._configmaps}/{self.topology}-notes"


class _Moved(StrataError):
    """An object kept changing under an import (another writer in the namespace)."""

    kind = "kube-store"

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: another writer changed it while it was written")


def _status(node: NodeCopy) -> dict[str, Any]:
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


def _copy(obj: Obj) -> NodeCopy:
    status = obj.get("status") or {}
    attempt = status.get("attempt") or {}
    record = record_of(obj) if int(status.get("version") or 0) > 0 else None
    expires = attempt.get("expires")
    return NodeCopy(
        node_of(obj),
        record,
        int(attempt.get("number") or 0),
        None if expires is None else int(expires),
        bool(attempt.get("provisioned")),
        tuple(int(s) for s in attempt.get("consumed") or ()),
        tuple(status.get("history") or ()),
    )
