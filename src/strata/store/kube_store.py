"""The Kubernetes store: the ``Store`` interface kept in a Kubernetes API, for Strata
running as a controller in a cluster (docs/in-cluster.md, "State in custom resources").

One topology's state in one namespace:

- a ``Server`` (``strata.store.server_crd``) per node, ``<topology>.<node>``: ``spec``
  the NodePlan, ``status`` the record (state, step, reason, deadline, marks, version),
  the provisioning attempt with the token stages it used, and the last 20 record
  events (``strata.store.kube_servers``);
- the event log in ConfigMap segments (``strata.store.kube_log``), the controllers'
  cursors in ``<topology>-cursors`` and machines in no topology in
  ``<topology>-unknown-machines`` (ConfigMaps; the newest ``UNKNOWN_KEPT`` machines
  by last sighting, a ConfigMap holding at most 1 MiB);
- the single-writer lease, a coordination.k8s.io/v1 Lease (``strata.store.kube_lease``);
- secrets in Secrets only (``strata.store.kube_secrets``).

What ``write_records`` guarantees, with Kubernetes having no transaction over several
objects: ``strata.store.kube_records`` (checked first, each record atomic, put back on
a conflict in between, the log after the records).

``requests`` counts the API requests made (``kube_api.Requests``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strata.provisioning import Attempt, Stage, UnknownMachine
from strata.store import fence
from strata.store.clusters import StoredCluster
from strata.store.kube_api import KubeApi, Obj, Requests, client_from_kubeconfig
from strata.store.kube_lease import WriterLease
from strata.store.kube_log import EventLog
from strata.store.kube_move import KubeMove
from strata.store.kube_records import RecordWriter, as_json, version_of
from strata.store.kube_secrets import KubeSecrets
from strata.store.kube_servers import Servers, node_of, record_of
from strata.store.records import (
    LogEntry,
    MovableStore,
    NodeRecord,
    NodeSummary,
    RecordWrite,
)

__all__ = ["KubeStore"]

UNKNOWN_KEPT = 1000  # machines in no topology kept (about 300 bytes each)


class KubeStore(KubeMove):
    """``client``: an httpx client whose base URL is the API server, authenticated (or
    a kubeconfig path, see ``from_kubeconfig``). ``segment_size``/``keep_segments``: the
    event log's shape (``kube_log``); ``workers``: Servers of a record batch read and
    written at once (``kube_records``); ``cached_attempts``: ``attempt`` reads the API
    server's watch cache, not etcd (``Servers.recent``). Raises ``KubeStoreError`` when
    the API fails."""

    def __init__(
        self,
        client: Any,
        namespace: str,
        topology: str,
        segment_size: int = 100,
        keep_segments: int = 1000,
        events_per_minute: float = 120,
        workers: int = 8,
        cached_attempts: bool = False,
    ) -> None:
        self.api = KubeApi(client)
        self.namespace, self.topology = namespace, topology
        self.servers = Servers(self.api, namespace, topology, per_minute=events_per_minute)
        self.log = EventLog(self.api, namespace, topology, segment_size, keep_segments)
        self.writer_of_records = RecordWriter(self.servers, self.log, workers)
        self.lease = WriterLease(self.api, namespace, topology)
        self.fence = fence.Sampled(self.writer)  # a move refuses the boot service's writes
        self.secrets = KubeSecrets(self.api, namespace, topology)
        self._configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
        self.cached_attempts = cached_attempts

    @classmethod
    def from_kubeconfig(
        cls,
        path: Path | str | None,
        namespace: str,
        topology: str,
        cached_attempts: bool = False,
    ) -> KubeStore:
        """The store over the kubeconfig at ``path``, its client following the file (a
        replaced one is read again: ``strata.kube.kubeconfig_reload``); None:
        ``$KUBECONFIG``, ``~/.kube/config`` or the pod's service account, read once."""
        if path is None:
            client: Any = client_from_kubeconfig(None)
        else:
            from strata.kube.kubeconfig_reload import FollowingHttp

            client = FollowingHttp(Path(path))
        return cls(client, namespace, topology, cached_attempts=cached_attempts)

    @property
    def requests(self) -> Requests:
        return self.api.requests

    def close(self) -> None:
        self.writer_of_records.close()
        self.api.client.close()

    # -- node records ----------------------------------------------------------

    def records(self) -> dict[str, NodeRecord]:
        return {node_of(o): record_of(o) for o in self.servers.all() if version_of(o) > 0}

    def summaries(self) -> list[NodeSummary]:
        found = []
        for obj in self.servers.all():
            if version_of(obj) > 0:
                status, spec = obj["status"], obj.get("spec") or {}
                place = (str(spec.get(k) or "?") for k in ("layer", "region", "zone", "rack"))
                found.append(
                    NodeSummary(
                        node_of(obj),
                        status["state"],
                        status.get("step"),
                        status.get("reason"),
                        status.get("updated", 0.0),
                        *place,
                    )
                )
        return found

    def write_records(self, writes: Sequence[RecordWrite]) -> None:
        """See ``strata.store.kube_records`` for what is atomic; ``Conflict`` when a
        record moved on since it was read."""
        self.writer_of_records.write(writes)

    def set_marks(self, name: str, marks: Mapping[str, Any]) -> None:
        def change(status: dict[str, Any]) -> dict[str, Any] | None:
            if not status.get("version"):
                return None  # no record: nothing to mark (as SQLite's UPDATE)
            return status | {"marks": as_json(marks)}

        self.servers.change(name, change)

    # -- attempts and single-use tokens (BootState) --------------------------------

    def begin_attempt(self, node: str, lifetime: float, now: float | None = None) -> Attempt:
        expires = int((now or time.time()) + lifetime)
        number = 0

        def change(status: dict[str, Any]) -> dict[str, Any]:
            nonlocal number
            number = int((status.get("attempt") or {}).get("number") or 0) + 1
            attempt = {"number": number, "expires": expires, "provisioned": False, "consumed": []}
            return status | {"attempt": attempt}

        self.servers.change(node, change, make=True)
        return Attempt(number, expires)

    def end_attempt(self, node: str, provisioned: bool) -> None:
        def change(status: dict[str, Any]) -> dict[str, Any] | None:
            attempt = status.get("attempt")
            if not attempt:
                return None
            return status | {"attempt": attempt | {"expires": None, "provisioned": provisioned}}

        self.servers.change(node, change)

    def attempt(self, node: str) -> Attempt | None:
        """The attempt in progress (None: none, or ended), read from etcd, or with
        ``cached_attempts`` from the API server's watch cache: never older than this
        store's own last write of the node, another writer's change possibly the cache's
        delay late. Single use does not rest on this read: ``consume`` is a
        compare-and-swap on the Server, decided again on a fresh read when it was
        stale."""
        read = self.servers.recent if self.cached_attempts else self.servers.get
        found = read(node)
        attempt = ((found or {}).get("status") or {}).get("attempt") or {}
        if attempt.get("expires") is None:
            return None
        return Attempt(int(attempt["number"]), int(attempt["expires"]))

    def consume(self, node: str, attempt: int, stage: Stage) -> bool:
        """False for a replay, and for a stage of an attempt other than the current one
        (only the current attempt's stages are kept)."""
        self.fence.check()
        fresh = False

        def change(status: dict[str, Any]) -> dict[str, Any] | None:
            nonlocal fresh
            current = status.get("attempt") or {}
            used = list(current.get("consumed") or [])
            fresh = current.get("number") == attempt and int(stage) not in used
            if not fresh:
                return None
            return status | {"attempt": current | {"consumed": [*used, int(stage)]}}

        self.servers.change(node, change)
        return fresh

    # -- the event log -------------------------------------------------------------

    def record(self, node: str, event: str, detail: Mapping[str, object]) -> None:
        self.record_many([(node, event, detail)])

    def record_many(self, entries: Sequence[tuple[str, str, Mapping[str, object]]]) -> None:
        self.fence.check()  # WritesRefused while a move holds the lease (store/fence.py)
        now = time.time()
        self.log.append([(n, now, e, as_json(d)) for n, e, d in entries])

    def events(self, node: str) -> list[LogEntry]:
        """The node's kept entries, oldest first (the whole kept log is read)."""
        return [e for e in self.log.every() if e.node == node]

    def events_since(
        self, after: int, limit: int = 10_000, kinds: Collection[str] | None = None
    ) -> list[LogEntry]:
        """Up to ``limit`` entries after ``after``, in log order; ``kinds``: only entries
        of these kinds (None: every entry; the segments are read either way)."""
        return self.log.since(after, limit, kinds)

    def recent_events(self, limit: int) -> list[LogEntry]:
        return self.log.find(lambda e: True, limit)[::-1]

    def latest(self, kinds: Collection[str], node: str) -> LogEntry | None:
        """The node's newest log entry of one of ``kinds`` (None: it has none)."""
        wanted = set(kinds)
        found = self.log.find(lambda e: e.node == node and e.kind in wanted, limit=1)
        return found[0] if found else None

    def cursor(self, name: str) -> int:
        found = self.api.get(f"{self._configmaps}/{self.topology}-cursors")
        return int(((found or {}).get("data") or {}).get(name, 0))

    def set_cursor(self, name: str, value: int) -> None:
        path = f"{self._configmaps}/{self.topology}-cursors"
        patch: Obj = {"data": {name: str(value)}}
        while self.api.merge(path, patch) is None:
            body = self._configmap(f"{self.topology}-cursors", patch["data"])
            if self.api.create(self._configmaps, body) is not None:
                return

    # -- machines in no topology ---------------------------------------------------

    def record_unknown(self, machine: UnknownMachine) -> None:
        self.fence.check()
        name, now = f"{self.topology}-unknown-machines", time.time()
        key = machine.mac.replace(":", "-")
        seen = {
            "mac": machine.mac,
            "uuid": machine.uuid,
            "serial": machine.serial,
            "arch": machine.arch,
            "platform": machine.platform,
        }
        while True:
            found = self.api.get(f"{self._configmaps}/{name}")
            if found is None:
                row = seen | {"first_seen": now, "last_seen": now, "boots": 1}
                body = self._configmap(name, {key: json.dumps(row)})
                if self.api.create(self._configmaps, body) is not None:
                    return
                continue
            data = dict(found.get("data") or {})
            before = json.loads(data.get(key) or "null") or {"first_seen": now, "boots": 0}
            row = seen | {"first_seen": before["first_seen"], "last_seen": now}
            data[key] = json.dumps(row | {"boots": before["boots"] + 1})
            if len(data) > UNKNOWN_KEPT:  # the machine seen longest ago goes
                del data[min(data, key=lambda k: json.loads(data[k])["last_seen"])]
            path = f"{self._configmaps}/{name}"
            if self.api.replace(path, {**found, "data": data}) is not None:
                return

    def unknown_machines(self) -> list[dict[str, Any]]:
        found = self.api.get(f"{self._configmaps}/{self.topology}-unknown-machines")
        rows = [json.loads(v) for v in ((found or {}).get("data") or {}).values()]
        return sorted(rows, key=lambda r: r["first_seen"])

    def _configmap(self, name: str, data: Mapping[str, str]) -> Obj:
        metadata = {"name": name, "labels": {"strata.dev/topology": self.topology}}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}

    # -- the single-writer lease -----------------------------------------------------

    def acquire_writer(
        self, holder: str, ttl: float, now: float | None = None, replacing: str | None = None
    ) -> None:
        """Hold the topology for ``ttl`` seconds (again, to renew); ``WriterBusy`` naming
        the holder when someone else holds a live lease; ``replacing``: take over from
        that holder (known dead) even though its lease runs."""
        self.lease.acquire(holder, ttl, time.time() if now is None else now, replacing)

    def release_writer(self, holder: str) -> None:
        self.lease.release(holder)

    def writer(self, now: float | None = None) -> tuple[str, float] | None:
        return self.lease.holder(time.time() if now is None else now)

    # -- secrets -------------------------------------------------------------------------

    def token_key(self) -> bytes:
        return self.secrets.token_key()

    def cluster(self, layer: str) -> StoredCluster | None:
        return self.secrets.cluster(layer)

    def keep_cluster(self, first: StoredCluster) -> StoredCluster:
        return self.secrets.keep_cluster(first)

    def rotate_cluster_token(
        self, layer: str, replacing: str, token: str, expires: float, now: float
    ) -> StoredCluster:
        return self.secrets.rotate_cluster_token(layer, replacing, token, expires, now)


if TYPE_CHECKING:  # mypy proves the Kubernetes store implements the protocol

    def _conforms(store: KubeStore) -> MovableStore:
        return store
