"""The Kubernetes store's event log: append-only segments, each a ConfigMap holding up
to ``size`` entries, named by sequence number (``<topology>-log-00000042``).

Why this form: ``events_since(cursor)`` must return entries in one total order, and a
reader must find its place without scanning the whole log at 10,000 servers. Kubernetes
has neither a sequence nor a multi-object transaction, but one object updated with its
``resourceVersion`` (compare-and-swap, a 409 retried on a fresh read) is a serialisation
point: every writer appends to the newest segment, so entries are totally ordered, and
an entry's id is ``segment * size + offset + 1`` — a cursor names its segment directly
(one GET, no index). A segment is full at ``size`` entries, or closed early (a
``closed`` key written with the same check) when the next entries would pass
``max_bytes``: a ConfigMap holds at most 1 MiB, and an append rewrites the whole
segment, so segments are small. Then the next segment is created (POST; a 409 means
another writer made it: read it). Creating segment ``n`` deletes segment
``n - keep``: the log holds at most ``size * keep`` entries (100,000 by default, about
ten per server at 10,000 servers), and a reader whose cursor fell behind the oldest
kept segment continues from that one.

Why not Kubernetes Events (they are deduplicated, rate-limited and expire after an
hour, with no order a cursor can rely on) nor one object per entry (a LIST per read,
an object per entry in etcd). Human-facing Events are written besides, by the store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strata.store.kube_api import KubeApi, Obj
from strata.store.kube_conditional import put
from strata.store.records import LogEntry

__all__ = ["EventLog"]

Entry = tuple[str, float, str, Mapping[str, Any]]  # node, at, kind, detail
_ATTEMPTS = 50  # compare-and-swap retries before giving up (a hang guard)


class EventLog:
    """The log of one topology in one namespace (see the module's docstring)."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        topology: str,
        size: int = 100,
        keep: int = 1000,
        max_bytes: int = 256 * 1024,
    ) -> None:
        self.api, self.topology, self.size, self.keep = api, topology, size, keep
        self.max_bytes = max_bytes
        self._collection = f"/api/v1/namespaces/{namespace}/configmaps"
        self._selector = f"strata.dev/topology={topology},strata.dev/log=segment"
        self._head: Obj | None = None  # the newest segment as this store last saw it
        self._writing = threading.Lock()  # one append of this store's at a time
        self._queued_lock = threading.Lock()
        self._queued: list[_Ticket] = []  # appends waiting for the one being written
        self._sealed: dict[int, list[LogEntry]] = {}  # full segments' entries, by number
        self._newest = 0  # the highest segment number read

    # -- writing -------------------------------------------------------------

    def append(self, entries: Sequence[Entry]) -> None:
        """Appends ``entries`` in order and returns once they are written. Appends of
        this store's threads are written one at a time, and those that arrive while one
        is written go out together in the next request (group commit: each caller still
        returns only once its own entries are in the API)."""
        ticket = _Ticket([[n, at, kind, dict(detail)] for n, at, kind, detail in entries])
        with self._queued_lock:
            self._queued.append(ticket)
        with self._writing:
            if not ticket.done:
                with self._queued_lock:
                    batch, self._queued = self._queued, []
                try:
                    self._append([e for t in batch for e in t.entries])
                except BaseException as failure:
                    for t in batch:
                        t.failure = failure
                    raise
                finally:
                    for t in batch:
                        t.done = True
        if ticket.failure is not None:
            raise ticket.failure

    def _append(self, pending: list[list[Any]]) -> None:
        """Each segment written is one atomic request, from the segment as this store
        last wrote or read it (no read first); a 409 (another writer appended) reads it
        again. Entries that spill into a new segment are written by a second request."""
        stale = self._head is None
        for _ in range(_ATTEMPTS + 2 * len(pending)):
            if not pending:
                return
            head = self._fresh_head() if stale or self._head is None else self._head
            stale = False
            items, closed = _items(head), head["data"].get("closed") == "true"
            take = pending[: max(0, self.size - len(items))]
            while len(take) > 1 and _size(items + take) > self.max_bytes:
                take = take[: len(take) // 2]  # a segment never grows past max_bytes
            grown = items + take
            if closed or not take:
                self._head = self._next(head)
                continue
            data = {"entries": json.dumps(grown, separators=(",", ":"))}
            if items and len(data["entries"]) > self.max_bytes:
                data = {**head["data"], "closed": "true"}
            written = self.api.replace(self._path(_number(head)), {**head, "data": data})
            if written is None:  # another writer appended in between: read it again
                stale = True
                continue
            self._head = written
            if "closed" not in data:
                pending = pending[len(take) :]
        raise RuntimeError(f"event log of {self.topology}: append kept conflicting")

    def read_head(self) -> Obj | None:
        """The newest segment as the API has it now, None when there is none (a
        fence's read: nothing is created)."""
        numbers = self._numbers()
        return self.api.get(self._path(numbers[-1])) if numbers else None

    def append_at(self, entries: Sequence[Entry], head: Obj | None) -> None:
        """Appends ``entries`` from ``head`` as read before the caller's confirmation
        (``strata.store.kube_fenced``): each segment PUT at the resourceVersion read or
        written, each new segment POSTed; ``Fenced`` on a 409, nothing retried."""
        pending = [[n, at, kind, dict(detail)] for n, at, kind, detail in entries]
        with self._writing:
            if head is None:
                head = put(self.api, self._path(0), None, self._segment(0), self._collection)
            while pending:
                items = _items(head)
                take = pending[: max(0, self.size - len(items))]
                while len(take) > 1 and _size(items + take) > self.max_bytes:
                    take = take[: len(take) // 2]
                if head["data"].get("closed") == "true" or not take:
                    number = _number(head) + 1
                    path, body = self._path(number), self._segment(number)
                    head = put(self.api, path, None, body, self._collection)
                    continue
                data = {"entries": json.dumps(items + take, separators=(",", ":"))}
                if items and len(data["entries"]) > self.max_bytes:
                    data = {**head["data"], "closed": "true"}
                else:
                    pending = pending[len(take) :]
                head = put(self.api, self._path(_number(head)), head, {**head, "data": data}, "")
            self._head = head

    def _fresh_head(self) -> Obj:
        """The newest segment as the API has it now."""
        if self._head is not None:
            found = self.api.get(self._path(_number(self._head)))
            if found is not None:
                return found
        return self._find_head()

    def _next(self, head: Obj) -> Obj:
        number = _number(head) + 1
        found = self.api.get(self._path(number))  # another writer may have made it
        if found is not None:
            return found
        made = self.api.create(self._collection, self._segment(number))
        if made is None:
            return self.api.get(self._path(number)) or self._find_head()
        if number >= self.keep:  # the retention bound: the oldest kept segment goes
            self.api.delete(self._path(number - self.keep))
        return made

    def _find_head(self) -> Obj:
        numbers = self._numbers()
        number = numbers[-1] if numbers else 0
        found = self.api.get(self._path(number)) if numbers else None
        if found is not None:
            return found
        made = self.api.create(self._collection, self._segment(number))
        return made or self.api.get(self._path(number)) or self._find_head()

    # -- reading ---------------------------------------------------------------

    def since(self, after: int, limit: int, kinds: Collection[str] | None = None) -> list[LogEntry]:
        """Entries with ids above ``after``, oldest first, at most ``limit``; ``kinds``:
        only entries of these kinds (None: every entry). Segments are read from the
        cursor's up to the first neither full nor closed: the head (no GET of the one
        after it, which is not made before; one made since holds entries appended after
        this read, which the next call returns — a prefix of the log either way)."""
        wanted = None if kinds is None else set(kinds)
        found: list[LogEntry] = []
        first = max(after, 0) // self.size
        number: int | None = first
        entries = self._read(first)
        if entries is None:  # past the head, or dropped: continue from the next kept
            later = [n for n in self._numbers() if n >= first]
            number = later[0] if later else None
            entries = self._read(number) if number is not None else None
        while entries is not None and number is not None and len(found) < limit:
            found += [e for e in entries if e.id > after and (wanted is None or e.kind in wanted)][
                : limit - len(found)
            ]
            if number not in self._sealed:  # the head: the next is made once it is sealed
                break
            number += 1
            entries = self._read(number)
        return found

    def _read(self, number: int) -> list[LogEntry] | None:
        """A segment's entries (None: it does not exist). A full or closed segment never
        changes again (the log is append-only), so its entries are kept once read and not
        asked for again while it is among the kept segments (the newest ``keep`` this
        store knows of: an older one may have been dropped, and is asked for)."""
        if number > self._newest - self.keep and number in self._sealed:
            return self._sealed[number]
        segment = self.api.get(self._path(number))
        if segment is None:
            return None
        entries = self._entries(segment)
        self._newest = max(self._newest, number)
        if len(entries) >= self.size or segment["data"].get("closed") == "true":
            self._sealed[number] = entries
            while len(self._sealed) > self.keep:
                del self._sealed[min(self._sealed)]
        return entries

    def newest_first(self) -> Iterator[LogEntry]:
        """Every kept entry, newest first, a segment read at a time (for the newest few:
        ``every`` reads them all in fewer requests)."""
        for number in reversed(self._numbers()):
            segment = self.api.get(self._path(number))
            if segment is not None:
                yield from reversed(self._entries(segment))

    def find(self, wanted: Callable[[LogEntry], bool], limit: int) -> list[LogEntry]:
        """Up to ``limit`` entries ``wanted`` keeps, newest first."""
        found: list[LogEntry] = []
        for entry in self.newest_first():
            if len(found) >= limit:
                break
            if wanted(entry):
                found.append(entry)
        return found

    def segments(self) -> list[Obj]:
        """Every kept segment, oldest first (one LIST, 500 segments a page)."""
        return sorted(self.api.items(self._collection, self._selector), key=_number)

    def every(self) -> list[LogEntry]:
        """Every kept entry, oldest first."""
        return [e for segment in self.segments() for e in self._entries(segment)]

    # -- names -------------------------------------------------------------------

    def _numbers(self) -> list[int]:
        """The segments' numbers: only names of the log's own shape count (another
        party's ConfigMap carrying the label is not a segment)."""
        names = self.api.names(self._collection, self._selector)
        prefix = f"{self.topology}-log-"
        return sorted(
            int(n[len(prefix) :])
            for n in names
            if n.startswith(prefix) and len(n) == len(prefix) + 8 and n[len(prefix) :].isdigit()
        )

    def _path(self, number: int) -> str:
        return f"{self._collection}/{self.topology}-log-{number:08d}"

    def _segment(self, number: int) -> Obj:
        labels = {"strata.dev/topology": self.topology, "strata.dev/log": "segment"}
        metadata = {"name": f"{self.topology}-log-{number:08d}", "labels": labels}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {}}

    def _entries(self, segment: Obj) -> list[LogEntry]:
        base = _number(segment) * self.size
        return [
            LogEntry(node, at, kind, detail, base + i + 1)
            for i, (node, at, kind, detail) in enumerate(_items(segment))
        ]


@dataclass
class _Ticket:
    entries: list[list[Any]]
    done: bool = False
    failure: BaseException | None = None


def _items(segment: Obj) -> list[list[Any]]:
    data = segment.get("data") or {}
    segment["data"] = data
    items: list[list[Any]] = json.loads(data.get("entries") or "[]")
    return items


def _size(items: list[list[Any]]) -> int:
    return len(json.dumps(items, separators=(",", ":")))


def _number(segment: Obj) -> int:
    return int(segment["metadata"]["name"].rsplit("-", 1)[1])
