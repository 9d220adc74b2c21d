"""The Kubernetes store's side of ``MovableStore`` (``strata.store.records``): its whole
state read out and written in as it was, for ``strata pivot`` (docs/pivot.md).

A mixin of ``KubeStore``. A node is written as two requests at most, each atomic: its
Server's ``spec`` (the plan, with its labels; the object created when absent), then
its ``status`` exactly as given (record, attempt, used stages, history) — an imported
node is whole once its status is written. Notes live in the ConfigMap
``<topology>-notes``, each change a compare-and-swap on its ``resourceVersion``;
``clear`` deletes only what the store wrote (``kube_clear``), never that ConfigMap
nor the writer Lease.
"""

from __future__ import annotations

from collections.abc import Sequence

from strata.errors import StrataError
from strata.store.kube_api import KubeApi, Obj
from strata.store.kube_clear import clear
from strata.store.kube_fenced import Read, merged, put, read_servers, write_node
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
    namespace: str

    def export_nodes(self) -> list[NodeCopy]:
        return sorted((_copy(obj) for obj in self.servers.all()), key=lambda n: n.name)

    def import_nodes(self, nodes: Sequence[NodeCopy], read: Read | None = None) -> None:
        """Each node's Server as ``kube_fenced.write_node`` writes it, conditional on
        ``read``: the Servers as read before the caller confirmed it still holds the
        move (None: each read here by a GET, unfenced). ``Fenced`` when one changed."""
        by_name = {n.name: n for n in nodes}

        def one(name: str) -> None:
            seen = read.get(name) if read is not None else self.servers.get(name)
            write_node(self.servers, by_name[name], seen)

        self.writer_of_records._map(one, list(by_name))

    def read_servers(self) -> dict[str, Obj]:
        """Every Server of the topology by node (one LIST): a fence's read."""
        return read_servers(self.servers)

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
        self.put_token_key_at(key, self.read_token_key())

    def read_token_key(self) -> Obj | None:
        """The boot token key's Secret as it is now (a fence's read)."""
        return self.api.get(self.secrets._path(f"{self.topology}-boot-token-key"))

    def put_token_key_at(self, key: bytes, read: Obj | None) -> None:
        """The boot token key replaced by ``key``, conditional on ``read`` (``Fenced``)."""
        name = f"{self.topology}-boot-token-key"
        body = self.secrets._secret(name, {"key": key}, "boot-token-key")
        put(self.api, self.secrets._path(name), read, body, self.secrets._collection)
        self.secrets._key = None

    def read_cursors(self) -> Obj | None:
        """The cursors' ConfigMap as it is now (a fence's read)."""
        return self.api.get(f"{self._configmaps}/{self.topology}-cursors")

    def put_cursors_at(self, values: dict[str, int], read: Obj | None) -> None:
        """The cursors ``values`` set in one write, conditional on ``read`` (``Fenced``)."""
        name = f"{self.topology}-cursors"
        data = {k: str(v) for k, v in values.items()}
        labels = {"strata.dev/topology": self.topology}
        base = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels},
        }
        body = merged(read, data, base)
        put(self.api, f"{self._configmaps}/{name}", read, body, self._configmaps)

    def clear(self) -> list[str]:
        """Deletes only the store's own objects of the topology, each by name at the
        resourceVersion read (``strata.store.kube_clear``); a line per object kept."""
        kept = clear(
            self.api, self.namespace, self.topology, self.servers.collection, self.writer_of_records
        )
        self.servers.seen.clear()
        self.servers.listed = False
        self.log._head, self.log._sealed, self.log._newest = None, {}, 0
        return kept

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
