"""The Kubernetes store's ``Server`` objects (``strata.store.server_crd``): reading
them, and changing one's status with the compare-and-swap every write goes through.

A change starts from the Server as this store last wrote or read it (``seen``: each
write's response is kept, so a store that is its Servers' only writer never reads before
writing), computes the next status, and PUTs it to the status subresource with that
``resourceVersion``; a 409 (another writer got there since: another replica's boot
service using a token, ``strata retry``) is read again and decided again. Only a fresh
read decides that nothing is to be written: a change that finds nothing to do in the
kept copy reads the object and asks again. The record's own version lives in
``status.version``: a change that expects another raises ``Conflict``, the same check
SQLite makes, made atomic by the ``resourceVersion``.

Human-facing Events (core/v1, involvedObject = the Server) tell state changes, best
effort: never a failed write because of one, and at most ``burst`` at once refilled at
``per_minute`` (a token bucket), the rest dropped and counted (``events_dropped``).
"""

from __future__ import annotations

import copy
import datetime
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from strata.store.kube_api import KubeApi, KubeStoreError, Obj
from strata.store.records import NodeRecord
from strata.store.server_crd import GROUP, KIND, PLURAL, VERSION

__all__ = ["Servers"]

Change = Callable[[dict[str, Any]], dict[str, Any] | None]  # status -> next (None: no write)
_ATTEMPTS = 50
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class Servers:
    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        topology: str,
        per_minute: float = 120,
        burst: int = 20,
    ) -> None:
        self.api, self.namespace, self.topology = api, namespace, topology
        self.collection = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
        self._per_second, self._burst = per_minute / 60.0, float(burst)
        self._budget, self._refilled = float(burst), time.monotonic()
        self.events_dropped = 0
        self.seen: dict[str, Obj] = {}  # node -> its Server as last written or read here
        self.listed = False  # every Server listed once: one not seen did not exist

    def object_name(self, node: str) -> str:
        return f"{self.topology}.{node}"

    def path(self, node: str, sub: str = "") -> str:
        return f"{self.collection}/{self.object_name(node)}{sub}"

    def get(self, node: str) -> Obj | None:
        """The Server as the API has it now."""
        return self._keep(node, self.api.get(self.path(node)))

    def recent(self, node: str) -> Obj | None:
        """The Server from the API server's watch cache, at least as new as the copy kept
        here: a GET with that ``resourceVersion`` ("not older than", Kubernetes API
        concepts, "Resource versions": semantics for get), or with ``0`` (any version the
        cache has) when none is kept. Neither reads etcd: ~0.45 ms of the API server's
        CPU against ~1.3 ms, and none of etcd's (docs/benchmarks.md). A change another
        writer made may be missing for as long as the cache takes to see it
        (milliseconds); a fresh ``get`` when the cache cannot catch up (504)."""
        kept = self.seen.get(node)
        version = str(((kept or {}).get("metadata") or {}).get("resourceVersion") or "0")
        try:
            found = self.api.get(self.path(node), params={"resourceVersion": version})
        except KubeStoreError as failure:
            if failure.status != 504:  # "Too large resource version": the cache is behind
                raise
            return self.get(node)
        return self._keep(node, found)

    def known(self, node: str) -> Obj | None:
        """The Server as this store last wrote or read it (may be stale); read when not
        seen, unless every Server was listed since (then it did not exist)."""
        if node in self.seen:
            return self.seen[node]
        return None if self.listed else self.get(node)

    def forget(self, node: str) -> None:
        self.seen.pop(node, None)

    def all(self) -> list[Obj]:
        found = list(self.api.items(self.collection, f"strata.dev/topology={self.topology}"))
        for obj in found:
            self._keep(node_of(obj), obj)
        self.listed = True
        return found

    def _keep(self, node: str, obj: Obj | None) -> Obj | None:
        if obj is None:
            self.seen.pop(node, None)
        else:
            self.seen[node] = obj
        return obj

    def create(self, node: str, plan: Mapping[str, Any]) -> Obj:
        """A new Server (no status yet: the API drops it on create); the one another
        writer made when it got there first."""
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": KIND,
            "metadata": {"name": self.object_name(node), "labels": self._labels(node, plan)},
            "spec": dict(plan),
        }
        made = self._keep(node, self.api.create(self.collection, body)) or self.get(node)
        if made is None:
            raise KubeStoreError("GET", self.path(node), 404, "deleted while it was made")
        return made

    def change(
        self, node: str, change: Change, start: Obj | None = None, make: bool = False
    ) -> Obj | None:
        """Apply ``change`` to the node's status (see the module's docstring); ``make``:
        create the Server when it does not exist (else None). ``start``: the object to
        begin from (default: the one kept). Returns the object."""
        current, fresh = start or self.seen.get(node), False
        for _ in range(_ATTEMPTS):
            if current is None:
                current, fresh = self.get(node), True
                if current is None and not make:
                    return None
                current = current or self.create(node, {})
            status = change(copy.deepcopy(current.get("status") or {}))
            if status is None:
                if fresh:
                    return current
                current = None  # decided on a kept copy: only a fresh read says so
                continue
            written = self._replace_status(node, current, status)
            if written is not None:
                self.seen[node] = written
                return written
            current = None
        raise KubeStoreError("PUT", self.path(node, "/status"), 409, "kept conflicting")

    def _replace_status(self, node: str, current: Obj, status: dict[str, Any]) -> Obj | None:
        """The PUT; None when it must be decided again (409, or gone since it was kept)."""
        try:
            return self.api.replace(self.path(node, "/status"), _status_body(current, status))
        except KubeStoreError as failure:
            if failure.status != 404:
                raise
            self.forget(node)
            return None

    def set_spec(self, node: str, obj: Obj, plan: Mapping[str, Any], version: int) -> Obj:
        """The node's plan, written after the status that decided the record's version;
        skipped once a newer record version is there (its writer read this plan).
        Returns the object as last seen."""
        current: Obj | None = obj
        for _ in range(_ATTEMPTS):
            current = current or self.get(node)
            if current is None or (current.get("status") or {}).get("version") != version:
                return current or obj
            if current.get("spec") == plan:
                return current
            metadata = dict(current["metadata"])
            metadata["labels"] = {**(metadata.get("labels") or {}), **self._labels(node, plan)}
            body = {**current, "metadata": metadata, "spec": dict(plan)}
            current = self._keep(node, self.api.replace(self.path(node), body))
            if current is not None:
                return current
        return obj

    def put_back(self, node: str, before: Obj | None, after: Obj) -> bool:
        """Undo a write that left ``after``: the Server as it was ``before`` (deleted when
        it did not exist), each request at ``after``'s resourceVersion. False when
        someone wrote it since (then it stays as they left it)."""
        self.forget(node)  # read again before the next write
        try:
            return self._put_back(node, before, after)
        except KubeStoreError:
            return False

    def _put_back(self, node: str, before: Obj | None, after: Obj) -> bool:
        if before is None:
            return self.api.delete(self.path(node), after["metadata"]["resourceVersion"])
        current: Obj | None = after
        if after.get("spec") != before.get("spec"):
            metadata = {**after["metadata"], "labels": before["metadata"].get("labels") or {}}
            body = {**after, "metadata": metadata, "spec": before.get("spec") or {}}
            current = self.api.replace(self.path(node), body)
        if current is None:
            return False
        body = {**current, "status": before.get("status") or {}}
        return self.api.replace(self.path(node, "/status"), body) is not None

    def tell(self, obj: Obj, old: str | None, new: str, why: str | None) -> None:
        """A core/v1 Event for a state change, if the budget allows (never raises)."""
        message = f"{old or 'new'} -> {new}" + (f": {why}" if why else "")
        reason = "".join(p.capitalize() for p in re.split(r"[-_ ]", new))
        self.notice(obj, reason, message, warning=new == "failed")

    def notice(self, obj: Obj, reason: str, message: str, *, warning: bool = False) -> None:
        """A core/v1 Event on the Server ``obj`` (``reason`` in CamelCase, ``message`` cut
        at 1,024 characters), if the budget allows; never raises."""
        now = time.monotonic()
        self._budget = min(self._burst, self._budget + (now - self._refilled) * self._per_second)
        self._refilled = now
        if self._budget < 1:
            self.events_dropped += 1
            return
        self._budget -= 1
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        metadata = obj["metadata"]
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{metadata['name']}.", "namespace": self.namespace},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "name": metadata["name"],
                "namespace": self.namespace,
                "uid": metadata.get("uid"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "source": {"component": "strata"},
        }
        try:
            self.api.create(f"/api/v1/namespaces/{self.namespace}/events", event, count="event")
        except KubeStoreError:
            self.events_dropped += 1

    def _labels(self, node: str, plan: Mapping[str, Any]) -> dict[str, str]:
        labels = {"strata.dev/topology": self.topology, "strata.dev/node": node}
        for key in ("layer", "rack"):
            value = plan.get(key)
            if isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.match(value):
                labels[f"strata.dev/{key}"] = value
        return labels


def _status_body(obj: Obj, status: dict[str, Any]) -> Obj:
    """What a PUT to the status subresource needs: the status, and the name and
    ``resourceVersion`` the update is checked by. The API server takes nothing else
    from the body ("PUT requests to the /status subresource take a custom resource
    object, and ignore changes to anything except the status stanza":
    apiextensions.k8s.io/v1 CustomResourceSubresourceStatus), so the plan, the labels
    and the rest of the metadata are not sent."""
    metadata = obj["metadata"]
    kept = {"name": metadata["name"], "resourceVersion": metadata["resourceVersion"]}
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": kept} | {
        "status": status
    }


def node_of(obj: Obj) -> str:
    labels = obj["metadata"].get("labels") or {}
    return str(labels.get("strata.dev/node") or obj["metadata"]["name"].split(".", 1)[1])


def record_of(obj: Obj) -> NodeRecord:
    """The node record a Server with a record (``status.version`` > 0) holds."""
    status = obj["status"]
    return NodeRecord(
        node_of(obj),
        int(status["version"]),
        status["state"],
        status.get("step"),
        status.get("reason"),
        obj.get("spec") or {},
        float(status.get("updated") or 0.0),
        status.get("deadline"),
        status.get("marks") or {},
    )
