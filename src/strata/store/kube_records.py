"""``write_records`` of the Kubernetes store: a batch of record writes checked first,
written one Server at a time (``workers`` at once), put back on a conflict.

What it guarantees, since Kubernetes has no transaction over several objects (the
store's module docstring and docs/in-cluster.md say the same):

1. the batch is checked first: every record's version is compared with what the
   batch expects, on the Server as this store last wrote or read it (its only writer
   needs no read), and any that differs is read again; ``Conflict`` before anything is
   written when one is stale. A Server another writer changed since this store kept
   it is found at its update (409), as in 3;
2. each node's writes in the batch become one status update, checked again by its
   ``resourceVersion`` (each record is atomic);
3. a writer that got in between the check and a record's update makes that record
   raise ``Conflict``; the records of the batch written are then put back as they
   were (a Server the batch created is deleted), each with the same
   ``resourceVersion`` check — one written over again in that instant by a third
   writer stays as that writer left it, with its log entries;
4. the log entries and Events of the batch are written once its records are;
5. a record's plan (``spec``) is written after its status, which decides the version:
   a crash in between leaves the previous plan under the new state, which the
   controller's next comparison of plans sees.

The Servers of a batch are read and written ``workers`` at a time (threads sharing the
store's client): requests to different objects do not wait for each other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from strata.store.kube_api import Obj
from strata.store.kube_log import EventLog
from strata.store.kube_servers import Servers
from strata.store.records import Conflict, RecordWrite

__all__ = ["HISTORY", "RecordWriter", "as_json", "version_of"]

HISTORY = 20  # record events kept in a Server's status
# the record of a switch to a node's bmc.fallback (strata.controller.fallback_bmc)
BMC_FALLBACK = "bmc-fallback"
T = TypeVar("T")
Done = tuple[str, Obj | None, Obj]  # node, the Server before, after


class RecordWriter:
    def __init__(self, servers: Servers, log: EventLog, workers: int = 8) -> None:
        self.servers, self.log = servers, log
        self._pool = ThreadPoolExecutor(workers, "strata-kube-store") if workers > 1 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def write(self, writes: Sequence[RecordWrite]) -> None:
        """See the module's docstring; ``Conflict`` when a record moved on."""
        groups: dict[str, list[RecordWrite]] = {}
        for w in writes:
            groups.setdefault(w.name, []).append(w)
        names = list(groups)
        read = dict(zip(names, self._map(self.servers.known, names), strict=True))
        stale = [n for n in names if not _fits(groups[n], read[n])]
        if stale:  # kept copies decide nothing against the batch: read those again
            read |= dict(zip(stale, self._map(self.servers.get, stale), strict=True))
        for name, group in groups.items():  # the batch checked first
            actual = version_of(read[name])
            for w in group:
                if w.expected_version != actual:
                    raise Conflict(name, w.expected_version, actual)
                actual += 1
        now = time.time()

        def attempt(name: str) -> Obj | Exception:
            try:
                return self._write(name, groups[name], read[name], now)
            except Exception as failure:  # handed back: the others are decided on first
                return failure

        outcomes = self._map(attempt, names)
        done: list[Done] = [
            (n, read[n], o) for n, o in zip(names, outcomes, strict=True) if isinstance(o, dict)
        ]
        failures = [o for o in outcomes if isinstance(o, Exception)]
        conflicts = [f for f in failures if isinstance(f, Conflict)]
        if conflicts:  # a writer got in between the check and an update: put back
            done = [d for d in reversed(done) if not self.servers.put_back(*d)]
        kept = {name for name, _, _ in done}
        self.log.append([(w.name, now, *w.event) for w in writes if w.event and w.name in kept])
        if failures:
            raise (conflicts or failures)[0]
        for name, before, after in done:
            self._tell(groups[name], before, after)

    def _map(self, fn: Callable[[str], T], names: list[str]) -> list[T]:
        if self._pool is None or len(names) < 2:
            return [fn(n) for n in names]
        return list(self._pool.map(fn, names))

    def _write(self, name: str, group: list[RecordWrite], obj: Obj | None, now: float) -> Obj:
        """The node's writes of a batch as one status update (then its plan); returns
        the Server as written."""
        first, last = group[0], group[-1]
        plans = [as_json(w.plan) for w in group if w.plan is not None]
        obj = obj or self.servers.create(name, plans[-1] if plans else {})
        version = first.expected_version + len(group)

        def change(status: dict[str, Any]) -> dict[str, Any]:
            actual = int(status.get("version") or 0)
            if actual != first.expected_version:
                raise Conflict(name, first.expected_version, actual)
            history = list(status.get("history") or [])
            for w in group:
                if w.event is not None:
                    kind, detail = w.event
                    entry = {"at": now, "kind": kind, "state": w.state, "detail": as_json(detail)}
                    history.append(entry)
            ending = [w.end_attempt for w in group if w.end_attempt is not None]
            if ending and status.get("attempt"):  # as end_attempt, in the same update
                status["attempt"] = status["attempt"] | {"expires": None, "provisioned": ending[-1]}
            status.update(
                state=last.state,
                step=last.step,
                reason=last.reason,
                deadline=last.deadline,
                marks=as_json(last.marks),
                version=version,
                updated=now,
                history=history[-HISTORY:],
            )
            return status

        stored = self.servers.change(name, change, start=obj, make=True)
        assert stored is not None  # made when it had gone
        return self.servers.set_spec(name, stored, plans[-1], version) if plans else stored

    def _tell(self, group: list[RecordWrite], before: Obj | None, after: Obj) -> None:
        """Kubernetes Events for people: the state change, and each BMC switched from."""
        last = group[-1]
        was = ((before or {}).get("status") or {}).get("state")
        if last.state != was:
            why = f"{last.step}: {last.reason}" if last.reason else None
            self.servers.tell(after, was, last.state, why)
        for w in group:
            if w.event is not None and w.event[0] == BMC_FALLBACK:
                detail = w.event[1]
                text = f"BMC {detail.get('from')} failed: {detail.get('reason')}; "
                self.servers.notice(
                    after,
                    "BMCFallback",
                    text + f"going on through {detail.get('to')}",
                    warning=True,
                )


def _fits(group: list[RecordWrite], obj: Obj | None) -> bool:
    return group[0].expected_version == version_of(obj)


def as_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` as JSON gives it back (what SQLite's store returns too)."""
    result: dict[str, Any] = json.loads(json.dumps(dict(value), sort_keys=True))
    return result


def version_of(obj: Obj | None) -> int:
    return int(((obj or {}).get("status") or {}).get("version") or 0)
