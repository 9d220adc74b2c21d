"""The single-writer lease of the Kubernetes store: a ``coordination.k8s.io/v1`` Lease
named ``<topology>-writer``, as Kubernetes' own leader election keeps one
(client-go ``tools/leaderelection/resourcelock/leaselock.go``): ``holderIdentity``,
``leaseDurationSeconds``, ``acquireTime``, ``renewTime``, ``leaseTransitions``, every
update carrying the ``resourceVersion`` read, a 409 read again and decided again.

``leaseDurationSeconds`` is whole seconds; the exact expiry (unix seconds, what
``Store.writer`` returns) is kept beside it in the annotation ``strata.dev/expires``,
so a fractional ``ttl`` and a caller's clock (``now``) mean what they mean in SQLite.
"""

from __future__ import annotations

import datetime
import math

from strata.store.kube_api import KubeApi, Obj
from strata.store.records import WriterBusy

__all__ = ["WriterLease"]

_EXPIRES = "strata.dev/expires"
_ATTEMPTS = 20


class WriterLease:
    def __init__(self, api: KubeApi, namespace: str, topology: str) -> None:
        self.api, self.topology = api, topology
        self._collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._path = f"{self._collection}/{topology}-writer"

    def acquire(self, holder: str, ttl: float, now: float, replacing: str | None) -> None:
        """Take or renew the lease; ``WriterBusy`` naming the live holder otherwise."""
        for _ in range(_ATTEMPTS):
            lease = self.api.get(self._path)
            if lease is None:
                if self.api.create(self._collection, self._lease(None, holder, ttl, now)):
                    return
                continue  # another writer created it first: decide on what it wrote
            current = _holder(lease)
            if current is not None and current[0] not in (holder, replacing) and current[1] > now:
                raise WriterBusy(*current)
            if self.api.replace(self._path, self._lease(lease, holder, ttl, now)) is not None:
                return
        raise WriterBusy(*(self.holder(now) or ("another writer", now)))

    def release(self, holder: str) -> None:
        """Delete the lease if ``holder`` holds it (only the version read: a lease taken
        over in between stays)."""
        for _ in range(_ATTEMPTS):
            lease = self.api.get(self._path)
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != holder:
                return
            if self.api.delete(self._path, lease["metadata"]["resourceVersion"]):
                return

    def holder(self, now: float) -> tuple[str, float] | None:
        lease = self.api.get(self._path)
        current = _holder(lease) if lease is not None else None
        return current if current is not None and current[1] > now else None

    def _lease(self, old: Obj | None, holder: str, ttl: float, now: float) -> Obj:
        spec = dict((old or {}).get("spec") or {})
        stamp = _micro_time(now)
        if spec.get("holderIdentity") != holder:
            spec["acquireTime"] = stamp
            spec["leaseTransitions"] = int(spec.get("leaseTransitions", -1)) + 1
        spec.update(
            holderIdentity=holder,
            leaseDurationSeconds=max(1, math.ceil(ttl)),
            renewTime=stamp,
        )
        metadata = dict((old or {}).get("metadata") or {})
        metadata["name"] = f"{self.topology}-writer"
        metadata["labels"] = {
            **(metadata.get("labels") or {}),
            "strata.dev/topology": self.topology,
        }
        metadata["annotations"] = {**(metadata.get("annotations") or {}), _EXPIRES: repr(now + ttl)}
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": spec,
        }


def _holder(lease: Obj) -> tuple[str, float] | None:
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity")
    if not holder:
        return None
    exact = ((lease.get("metadata") or {}).get("annotations") or {}).get(_EXPIRES)
    if exact is not None:
        return str(holder), float(exact)
    renewed = datetime.datetime.fromisoformat(str(spec["renewTime"]).replace("Z", "+00:00"))
    return str(holder), renewed.timestamp() + float(spec.get("leaseDurationSeconds") or 0)


def _micro_time(now: float) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, UTC."""
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
