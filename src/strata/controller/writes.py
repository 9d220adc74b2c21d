"""The reconciler's writes to the store, batched: each node's record (its state entered,
with the event that moved it) and the attempts to end once that record is written.

Order is the crash-safety rule: the state a node enters is on disk before anything it
causes happens. A BMC action starts only after a flush; an attempt ends (its tokens
stop working, a provisioned node boots its disk) only after the record saying why is
written, so a controller killed in between finds the node where it was, its attempt
still open, and repeats an idempotent step instead of mistaking an installed machine
for one found running.

A record may *wait* (``record(..., wait=True)``) when nothing it precedes needs it on
disk: a restart that finds the node where its last written record left it does the same
again and touches nothing twice (``lifecycle.WRITE_BEHIND`` says which and why). A
waiting record is written with the node's next record that does not wait (one status
update for both on the Kubernetes store), or by ``flush(everything=True)`` at the run's
end. It saves two writes per node on the way to provisioned; ``strata status`` shows
the state before it a little longer (registering while the inventory is read,
provisioning until the machine fetches its Ignition config).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from strata.controller.tracked import Tracked
from strata.plan import NodePlan, to_jsonable
from strata.store import Conflict, RecordWrite, Store

__all__ = ["Writes"]


class Writes:
    def __init__(self, store: Store) -> None:
        self.store = store
        # node -> its pending records, in order, each with its place in the order written
        self._pending: dict[str, list[tuple[int, RecordWrite]]] = {}
        self._due: set[str] = set()  # nodes with a pending record that does not wait
        self._ending: dict[str, bool] = {}  # node -> provisioned, once its record is written
        self._count = 0  # records made: a pending record's place in the order written

    def record(
        self,
        t: Tracked,
        event: tuple[str, Mapping[str, Any]],
        plan: NodePlan | None = None,
        *,
        wait: bool = False,
    ) -> None:
        """``t``'s record as it is now, with ``event``; ``plan`` when it changed;
        ``wait``: written with the node's next record (see the module's docstring)."""
        write = RecordWrite(
            t.name,
            t.version,
            t.state.value,
            t.step,
            t.reason,
            t.deadline,
            dict(t.marks),
            plan=to_jsonable(plan) if plan is not None else None,
            event=event,
        )
        self._pending.setdefault(t.name, []).append((self._count, write))
        self._count += 1
        if not wait:
            self._due.add(t.name)
        t.version += 1

    def end_attempt(self, name: str, provisioned: bool) -> None:
        """End the node's open attempt (if any) with the record saying why: in the same
        write when that record is pending (``RecordWrite.end_attempt``: no read, no
        write of its own), else once the records before it are written."""
        pending = self._pending.get(name)
        if pending:
            place, last = pending[-1]
            pending[-1] = (place, dataclasses.replace(last, end_attempt=provisioned))
            return
        self._ending[name] = provisioned

    def flush(self, everything: bool = False) -> list[str]:
        """Write every node's pending records but those that only wait (all of them with
        ``everything``), in the order they were made; returns the nodes whose record
        someone else changed (their pending writes dropped: the caller reads them
        again). Costs the records written, not those left waiting."""
        due = list(self._pending) if everything else self._due
        self._due = set()
        placed = [w for name in due for w in self._pending.pop(name, ())]
        placed.sort(key=_place)
        writes = [w for _, w in placed]
        conflicted: list[str] = []
        while writes:
            try:
                self.store.write_records(writes)
                writes = []
            except Conflict as conflict:  # `strata retry` (or a person) wrote this node
                writes = [w for w in writes if w.name != conflict.name]
                self._ending.pop(conflict.name, None)
                conflicted.append(conflict.name)
        ending, self._ending = self._ending, {}
        for name, provisioned in ending.items():
            if self.store.attempt(name) is not None:
                self.store.end_attempt(name, provisioned=provisioned)
        return conflicted


def _place(placed: tuple[int, RecordWrite]) -> int:
    return placed[0]
