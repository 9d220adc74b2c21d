"""Racks split into shards, each held through its own coordination.k8s.io/v1 Lease, so
N replicas of the controller share the work and a replica that dies loses its shards
to the others within one lease duration.

``count`` shards per namespace; a rack's shard is ``crc32("<topology>/<rack>") %
count``. Each replica announces itself with a member Lease (``strata-member-<id>``)
and holds up to its fair share, ``ceil(count / live members)``, of the shard Leases
(``strata-shard-<i>``), renewing them every third of the lease duration. A lease is
free when nobody holds it, or when its record has not changed for one lease duration
as this replica observed it (client-go's leaderelection judges expiry on its own clock
the same way: no clocks compared across hosts). A replica over its fair share (a new
replica came) gives shards back — only once no run of its own still drives them
(``busy``), so two replicas never drive one rack at once. A Lease naming this
replica's own identity is its own (identities are unique: the pod's name): a replica
restarted under the same name takes its shards back at once rather than waiting for
a record it can never see expire. Two live processes given one identity are a
misconfiguration this cannot detect (client-go's leaderelection cannot either).

Writes are replaces carrying the read ``resourceVersion``: of two replicas taking one
free shard, the API server lets one through (the other gets 409 Conflict).
"""

from __future__ import annotations

import datetime
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from lightkube import ApiError, Client
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

__all__ = ["Shards", "shard_of"]

log = logging.getLogger("strata.operator.shards")
LABEL = "strata.dev/controller-lease"


def shard_of(topology: str, rack: str, count: int) -> int:
    """The shard of ``rack`` of ``topology``: stable across replicas and restarts."""
    return zlib.crc32(f"{topology}/{rack}".encode()) % count


class Shards:
    """The shards this replica holds (``held``); ``tick`` renews, takes and gives back;
    ``on_change`` is called (from ``tick``) when ``held`` changed."""

    def __init__(
        self,
        client: Client,
        namespace: str,
        identity: str,
        count: int,
        duration: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.namespace, self.identity = client, namespace, identity
        self.count, self.duration, self.clock = count, duration, clock
        self.held: frozenset[int] = frozenset()
        self.share = count  # the fair share, at the last tick
        self.busy: Callable[[], frozenset[int]] = frozenset  # shards runs still drive
        self.on_change: Callable[[], None] = lambda: None
        self._seen: dict[str, tuple[str, float]] = {}  # lease -> (its record, first seen)
        self.ticked = clock()  # the last tick that renewed (start: as if just renewed)
        self._short_since: float | None = None  # under the share with shards unheld since
        self._stranded: frozenset[int] = frozenset()
        self._lock = threading.Lock()

    def tick(self) -> None:
        """One round: announce, renew what is held, give back or take to the fair share.
        A shard Lease naming this identity that ``held`` lacks (this replica restarted
        with the same identity: a container restart in its pod) is taken back first,
        as client-go lets a holder renew its own record; beyond the fair share it is
        given back at once instead of going stale."""
        with self._lock:
            before = self.active()
            self._keep(self._member_name())
            members, own, free = self._observe()
            self.share = math.ceil(self.count / max(1, members))
            held = {i for i in self.held if self._keep(_shard_name(i))}
            self.held = frozenset(held)
            for i in held - self.active() - self.busy():  # over the share, no run on it
                self._give_back(_shard_name(i))
                held.discard(i)
            for i in [*sorted(own - held), *range(self.count)]:
                if len(held) >= self.share:
                    break
                if i not in held and self._take(_shard_name(i)):
                    held.add(i)
            for i in own - held:  # our own record beyond the share: for the others now
                self._give_back(_shard_name(i))
            self.held = frozenset(held)
            self._judge(free - held)
            self.ticked = self.clock()
            after = self.active()
        if after != before:
            log.info("identity=%s shards: %s", self.identity, sorted(after) or "none")
            self.on_change()

    def problem(self) -> str | None:
        """What keeps this replica from its share, for /readyz; None: fine. Said when
        the leases were not renewed for a lease duration (the API server unreachable),
        or when it has held less than its share for a lease duration while some shard
        is held by no live replica (nobody drives that shard's racks)."""
        now = self.clock()
        if now - self.ticked > self.duration:
            return f"shard leases not renewed for {now - self.ticked:.0f} s"
        if self._short_since is not None and now - self._short_since > self.duration:
            return (
                f"holds {len(self.held)} of its {self.share} shard(s) while shard(s) "
                f"{', '.join(map(str, sorted(self._stranded)))} are held by no live replica"
            )
        return None

    def _judge(self, stranded: set[int]) -> None:
        self._stranded = frozenset(stranded)
        if len(self.held) >= self.share or not stranded:
            self._short_since = None
        elif self._short_since is None:
            self._short_since = self.clock()

    def active(self) -> frozenset[int]:
        """The held shards runs may drive: the fair share's lowest (those over it are
        given back once no run drives them)."""
        return frozenset(sorted(self.held)[: self.share])

    def run(self, stop: threading.Event) -> None:
        """``tick`` every third of the lease duration until ``stop``; then give back."""
        while not stop.is_set():
            try:
                self.tick()
            except ApiError as err:
                log.warning("shard leases: %s", err.status.message)
            except Exception as exc:  # the API server unreachable: tried again, never ends
                log.warning("shard leases: %s: %s", type(exc).__name__, exc)
            stop.wait(self.duration / 3)

    def release_all(self) -> None:
        with self._lock:
            for i in self.held:
                self._give_back(_shard_name(i))
            self._give_back(self._member_name())
            self.held = frozenset()

    # -- one Lease ----------------------------------------------------------------

    def _member_name(self) -> str:
        return "strata-member-" + "".join(c if c.isalnum() else "-" for c in self.identity.lower())

    def _observe(self) -> tuple[int, set[int], set[int]]:
        """Every member and shard Lease looked at (an unrenewed one is seen going stale
        from now, whether or not this replica wants it yet); returns the live members,
        the shards whose Lease names this identity, and the shards no live replica
        holds (no Lease yet, no holder, or stale)."""
        members, own, free = 0, set(), set(range(self.count))
        for lease in self.client.list(Lease, namespace=self.namespace, labels={LABEL: None}):
            alive = self._alive(lease)
            labels = (lease.metadata.labels if lease.metadata else None) or {}
            members += alive and labels.get(LABEL) == "member"
            name = str(lease.metadata.name if lease.metadata else "")
            index = _shard_index(name, self.count)
            if index is None:
                continue
            if lease.spec and lease.spec.holderIdentity == self.identity:
                own.add(index)
            if alive:
                free.discard(index)
        return members, own, free

    def _alive(self, lease: Lease) -> bool:
        spec = lease.spec or LeaseSpec()
        if not spec.holderIdentity:
            return False
        if spec.holderIdentity == self.identity:
            return True
        record = f"{spec.holderIdentity}@{spec.renewTime}"
        name = lease.metadata.name if lease.metadata else ""
        seen = self._seen.get(str(name))
        now = self.clock()
        if seen is None or seen[0] != record:
            self._seen[str(name)] = (record, now)
            return True
        return now - seen[1] < self.duration

    def _keep(self, name: str) -> bool:
        """Renew a lease this replica holds (creating a member lease); False: lost."""
        lease = self._get(name)
        if lease is None:
            return self._create(name)
        spec = lease.spec or LeaseSpec()
        if spec.holderIdentity != self.identity:
            return False
        return self._replace(lease, acquired=False)

    def _take(self, name: str) -> bool:
        """Take a free Lease, or one naming this identity (kept as acquired then)."""
        lease = self._get(name)
        if lease is None:
            return self._create(name)
        if (lease.spec and lease.spec.holderIdentity) == self.identity:
            return self._replace(lease, acquired=False)
        if self._alive(lease):
            return False
        return self._replace(lease, acquired=True)

    def _give_back(self, name: str) -> None:
        lease = self._get(name)
        if lease is None or (lease.spec and lease.spec.holderIdentity != self.identity):
            return
        lease.spec = LeaseSpec(holderIdentity=None, leaseDurationSeconds=1)
        try:
            self.client.replace(lease)
        except ApiError as err:
            log.warning("lease %s not given back: %s", name, err.status.message)

    def _get(self, name: str) -> Lease | None:
        try:
            return self.client.get(Lease, name, namespace=self.namespace)
        except ApiError as err:
            if err.status.code == 404:
                return None
            raise

    def _create(self, name: str) -> bool:
        kind = "member" if name.startswith("strata-member-") else "shard"
        lease = Lease(
            metadata=ObjectMeta(name=name, namespace=self.namespace, labels={LABEL: kind}),
            spec=self._spec(None, acquired=True),
        )
        return self._send(lambda: self.client.create(lease, namespace=self.namespace))

    def _replace(self, lease: Lease, acquired: bool) -> bool:
        lease.spec = self._spec(lease.spec, acquired)
        return self._send(lambda: self.client.replace(lease))

    def _spec(self, old: LeaseSpec | None, acquired: bool) -> LeaseSpec:
        now = datetime.datetime.now(datetime.UTC)
        transitions = (old.leaseTransitions or 0) + 1 if old is not None and acquired else 0
        return LeaseSpec(
            holderIdentity=self.identity,
            leaseDurationSeconds=max(1, math.ceil(self.duration)),
            acquireTime=now if acquired or old is None else old.acquireTime,
            renewTime=now,
            leaseTransitions=transitions if acquired else (old.leaseTransitions if old else 0),
        )

    def _send(self, call: Callable[[], Any]) -> bool:
        try:
            call()
        except ApiError as err:
            if err.status.code in (409, 404):  # another replica got there first
                return False
            raise
        return True


def _shard_name(i: int) -> str:
    return f"strata-shard-{i}"


def _shard_index(name: str, count: int) -> int | None:
    """The shard a Lease's name says, when it is one of ``count``'s; else None."""
    number = name.removeprefix("strata-shard-")
    if number == name or not number.isdigit() or int(number) >= count:
        return None
    return int(number)
