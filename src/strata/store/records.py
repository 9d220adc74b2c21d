"""What a store holds for the controller, whatever its backend: node records, the
event log, the single-writer lease, and each layer's cluster secrets (``clusters``).

``Store`` is the interface: the embedded SQLite store implements it today, the
Kubernetes store (records as custom resources, the lease as a coordination
Lease) will implement the same one.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from strata.errors import StrataError
from strata.provisioning import Attempt, BootState
from strata.store.clusters import ClusterSecretsStore

__all__ = [
    "Conflict",
    "Fenced",
    "LogEntry",
    "MovableStore",
    "NodeCopy",
    "NodeRecord",
    "NodeSummary",
    "RecordWrite",
    "Store",
    "WriterBusy",
]


@dataclass(frozen=True, slots=True)
class NodeRecord:
    name: str
    version: int  # increases by one with every write: the optimistic-concurrency check
    state: str
    step: str | None  # where a failed node stopped
    reason: str | None  # why
    plan: Mapping[str, Any]  # the NodePlan last applied, JSON-ready
    updated: float
    deadline: float | None = None  # when the current phase times out (unix seconds)
    marks: Mapping[str, Any] = field(default_factory=dict)  # what an action already did


@dataclass(frozen=True, slots=True)
class NodeSummary:
    """What a status view needs of a record: its state and where the node sits."""

    name: str
    state: str
    step: str | None
    reason: str | None
    updated: float
    layer: str
    region: str
    zone: str
    rack: str


@dataclass(frozen=True, slots=True)
class RecordWrite:
    """One node's next record. ``plan=None`` keeps the recorded plan (a new record needs
    one); ``event`` is appended to the node's log in the same transaction;
    ``end_attempt``: True or False ends the node's open provisioning attempt (if any) in
    the same transaction, as ``end_attempt(provisioned=...)`` would (None: leave it)."""

    name: str
    expected_version: int  # 0: the record does not exist yet
    state: str
    step: str | None = None
    reason: str | None = None
    deadline: float | None = None
    marks: Mapping[str, Any] = field(default_factory=dict)
    plan: Mapping[str, Any] | None = None
    event: tuple[str, Mapping[str, Any]] | None = None
    end_attempt: bool | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    node: str
    at: float
    kind: str
    detail: Mapping[str, Any]
    id: int = 0  # position in the log: later events have larger ids


@dataclass(frozen=True, slots=True)
class NodeCopy:
    """One node's whole state as a store keeps it, for a move to another store
    (``MovableStore``): its record (None: an attempt was begun before any record), its
    provisioning attempt (number 0: none; ``expires`` None: not open; unix seconds),
    the single-use token stages (``Stage`` values) used in that attempt, and the record
    events the store keeps beside the record (the Kubernetes store's last 20; SQLite
    keeps none beyond the log: empty)."""

    name: str
    record: NodeRecord | None
    attempt: int = 0
    expires: int | None = None
    provisioned: bool = False
    used: tuple[int, ...] = ()
    history: tuple[Mapping[str, Any], ...] = ()


class Conflict(StrataError):
    """Another writer changed the record since it was read."""

    kind = "conflict"

    def __init__(self, name: str, expected: int, actual: int) -> None:
        super().__init__(
            f"node {name}: record is at version {actual}, not {expected}: read it again"
        )
        self.name, self.expected, self.actual = name, expected, actual


class Fenced(StrataError):
    """A move's write refused by its fence (docs/pivot.md, "Fenced writes"): in a
    Kubernetes target the object changed since it was read before the run's
    confirmation (409, or 404); in a state file another run of the move claimed it."""

    kind = "store-fenced"

    def __init__(
        self, what: str, why: str = "changed since it was read before this run's confirmation"
    ) -> None:
        super().__init__(f"{what}: {why}")


class WriterBusy(StrataError):
    """Another controller holds the datacenter."""

    kind = "writer-busy"
    exit_code = 2
    hint = "wait for it to finish, or stop it; a lease left by a dead process expires"

    def __init__(self, holder: str, expires: float) -> None:
        super().__init__(
            f"{holder} is driving this datacenter (its lease runs until {time.ctime(expires)})"
        )
        self.holder, self.expires = holder, expires


class Store(BootState, ClusterSecretsStore, Protocol):
    def records(self) -> dict[str, NodeRecord]: ...

    def summaries(self) -> list[NodeSummary]:
        """Every node's state and place, without reading whole plans (for status)."""
        ...

    def write_records(self, writes: Sequence[RecordWrite]) -> None:
        """All or nothing; ``Conflict`` when any record moved on since it was read."""
        ...

    def set_marks(self, name: str, marks: Mapping[str, Any]) -> None:
        """Note what an action did, before it does the next thing (no version change)."""
        ...

    def events(self, node: str) -> list[LogEntry]: ...

    def events_since(
        self, after: int, limit: int = 10_000, kinds: Collection[str] | None = None
    ) -> list[LogEntry]:
        """Up to ``limit`` entries after position ``after``, in log order; ``kinds``: only
        entries of these kinds (None, the default: every entry)."""
        ...

    def recent_events(self, limit: int) -> list[LogEntry]: ...

    def cursor(self, name: str) -> int: ...

    def set_cursor(self, name: str, value: int) -> None: ...

    def begin_attempt(self, node: str, lifetime: float, now: float | None = None) -> Attempt: ...

    def end_attempt(self, node: str, provisioned: bool) -> None: ...

    def acquire_writer(
        self, holder: str, ttl: float, now: float | None = None, replacing: str | None = None
    ) -> None: ...

    def release_writer(self, holder: str) -> None: ...

    def writer(self, now: float | None = None) -> tuple[str, float] | None: ...


class MovableStore(Store, Protocol):
    """A store whose whole state can be read out and written into another one as it
    was (``strata pivot``, docs/pivot.md): versions, times and ids of attempts kept."""

    def export_nodes(self) -> list[NodeCopy]:
        """Every node's record, attempt, used token stages and kept history."""
        ...

    def import_nodes(self, nodes: Sequence[NodeCopy]) -> None:
        """Each node's state becomes exactly ``nodes[i]`` (its version, its ``updated``),
        whatever was kept for it before; other nodes are left as they are."""
        ...

    def append_log(self, entries: Sequence[LogEntry]) -> None:
        """Appends ``entries`` in order with their own ``at`` (their ids are this store's)."""
        ...

    def cursors(self) -> dict[str, int]:
        """Every log cursor kept (``set_cursor``), by name."""
        ...

    def cluster_layers(self) -> list[str]:
        """The layers with cluster secrets kept (``keep_cluster``), sorted."""
        ...

    def token_key(self) -> bytes:
        """The key that signs boot tokens (made once when there is none)."""
        ...

    def put_token_key(self, key: bytes) -> None:
        """The key that signs boot tokens becomes ``key`` (32 bytes)."""
        ...

    def clear(self) -> list[str]:
        """Forgets every record, attempt, used token, log entry, cursor, cluster secret
        and unknown machine; the token key (``put_token_key`` replaces it), the writer
        lease and notes stay. Returns a line per thing kept (another party's, or changed
        since it was read: a Kubernetes store deletes only its own, ``kube_clear``)."""
        ...

    def note(self, key: str) -> str | None:
        """A note kept beside the state (``set_note``); None when there is none."""
        ...

    def set_note(self, key: str, value: str | None, expected: str | None) -> bool:
        """Compare-and-swap: the note ``key`` becomes ``value`` (None: removed) only if it
        is ``expected`` now; False (nothing written) otherwise."""
        ...
