"""A run restricted to this replica's shards: the plan's servers in the racks of the
shards it holds, and the store as that run sees it (``ShardStore``).

The shard Leases are the writer lease of such a run (``strata.operator.shards``), so
the store's own single-writer lease is not taken: N replicas write one topology's
records at once, each its own servers', and a record's version check
(``Conflict``) still stops two writers of one record. Each shard has its own read
position in the event log (``<name>.shard-<i>``): a replica that takes a shard over
reads on from where the shard's previous holder had read, not from its own position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from strata.operator.shards import shard_of
from strata.plan import NodePlan, Plan
from strata.store import Store

__all__ = ["ShardStore", "shard_plan"]


def shard_plan(
    plan: Plan, recorded: Mapping[str, NodePlan], held: frozenset[int], count: int
) -> Plan:
    """``plan`` cut to the servers (nodes, actions, racks) in the ``held`` shards; a
    removed server's rack comes from its recorded plan. Layers stay whole (a gate reads
    its layer's news from the shared log)."""

    def mine(rack: str) -> bool:
        return shard_of(plan.topology, rack, count) in held

    racks = {n: p.rack for n, p in recorded.items()} | {p.name: p.rack for p in plan.nodes}
    return dataclasses.replace(
        plan,
        nodes=tuple(p for p in plan.nodes if mine(p.rack)),
        actions=tuple(a for a in plan.actions if a.node in racks and mine(racks[a.node])),
        racks=tuple(r for r in plan.racks if mine(r.name)),
    )


class ShardStore:
    """``store`` for a run over ``shards``: every call passes through but the writer
    lease (held as the shard Leases) and the log cursors (one per shard)."""

    def __init__(self, store: Store, shards: frozenset[int]) -> None:
        self._store, self._shards = store, sorted(shards)

    def as_store(self) -> Store:
        return cast(Store, self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def acquire_writer(
        self, holder: str, ttl: float, now: float | None = None, replacing: str | None = None
    ) -> None:
        return None  # the shard Leases are this run's writer lease

    def release_writer(self, holder: str) -> None:
        return None

    def writer(self, now: float | None = None) -> tuple[str, float] | None:
        return None

    def cursor(self, name: str) -> int:
        """The lowest position among the shards': nothing a shard has not read is skipped
        (events read twice are ignored by the reconciler: a stale attempt, an illegal
        event)."""
        return min((self._store.cursor(f"{name}.shard-{i}") for i in self._shards), default=0)

    def set_cursor(self, name: str, value: int) -> None:
        for i in self._shards:
            self._store.set_cursor(f"{name}.shard-{i}", value)
