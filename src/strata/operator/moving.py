"""A Topology whose store a move holds (``strata pivot``, docs/pivot.md) is not driven.

A move freezes its source by taking the store's writer lease (on the Kubernetes store
the ``coordination.k8s.io/v1`` Lease ``<topology>-writer``) under a holder of its own
(``strata.pivot.ends.marker``): ``strata pivot <id>: moving to …`` on the source,
``… receiving from …`` then ``… taking over from …`` on the target, and, once the move
is done, ``the controller in … (moved there by strata pivot <id>)`` on the old source.
The in-cluster controller runs under its shard Leases, not that lease, so it reads it:
before each run of a Topology (``held``), and every ``interval`` seconds while a run
drives servers (``Watch``), which then stops the run as an edit does (running BMC
actions recorded, no new one started). The lease given back, the next run goes on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType

from strata.pivot.ends import move_holding
from strata.store import Store

__all__ = ["Held", "Watch", "held"]


@dataclass(frozen=True, slots=True)
class Held:
    """``reason`` "Moving" (a move runs) or "Moved" (the state went elsewhere);
    ``holder``: the lease's holder text, as the move wrote it."""

    reason: str
    holder: str

    def message(self) -> str:
        if self.reason == "Moved":
            return f"not driven: this topology's management plane moved: {self.holder}"
        return f"not driven while a move holds the store's writer lease: {self.holder}"


def held(store: Store) -> Held | None:
    """The move holding ``store``'s writer lease (a live one, ``Store.writer``), if any;
    one read of the lease (one API request on the Kubernetes store)."""
    writer = store.writer()
    holder = writer[0] if writer is not None else None
    role = move_holding(holder)
    if role is None or holder is None:
        return None
    return Held("Moved" if role == "moved" else "Moving", holder)


class Watch:
    """While entered: a thread reading ``store``'s writer lease every ``interval``
    seconds; the first time a move holds it, ``seen`` is set to it and ``stop`` is set
    (the reconciler's stop: it starts no new BMC action). A failed read is tried again
    at the next turn (the run goes on meanwhile, as between two reads)."""

    def __init__(self, store: Store, stop: threading.Event, interval: float) -> None:
        self.store, self.stop, self.interval = store, stop, interval
        self.seen: Held | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="move-watch", daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            try:
                found = held(self.store)
            except Exception:  # read again at the next turn
                continue
            if found is not None:
                self.seen = found
                self.stop.set()
                return
