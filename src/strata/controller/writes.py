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
        self._records: list[RecordWrite] = []
        self._due: set[str] = set()  # nodes with a pending record that does not wait
        self._ending: dict[str, bool] = {}  # node -> provisioned, once its record is written
        self._last: dict[str, int] = {}  # node -> its pending record's place in _records

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
        self._records.append(
            RecordWrite(
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
        )
        self._last[t.name] = len(self._records) - 1
        if not wait:
            self._due.add(t.name)
        t.version += 1

    def end_attempt(self, name: str, provisioned: bool) -> None:
        """End the node's open attempt (if any) with the record saying why: in the same
        write when that record is pending (``RecordWrite.end_attempt``: no read, no
        write of its own), else once the records before it are written."""
        place = self._last.get(name)
        if place is not None:
            pending = self._records[place]
            self._records[place] = dataclasses.replace(pending, end_attempt=provisioned)
            return
        self._ending[name] = provisioned

    def flush(self, everything: bool = False) -> list[str]:
        """Write every node's pending records but those that only wait (all of them with
        ``everything``); returns the nodes whose record someone else changed (their
        pending writes dropped: the caller reads them again)."""
        due = {w.name for w in self._records} if everything else self._due
        writes = [w for w in self._records if w.name in due]
        self._records = [w for w in self._records if w.name not in due]
        self._last = {w.name: i for i, w in enumerate(self._records)}
        self._due = set()
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
