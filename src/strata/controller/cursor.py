"""The controller's position in the event log, kept in the store so that a restart
reads on from there instead of from the log's start.

Saved when the entries read carried a person's request (``REQUESTS``: a retry or an
adoption acted on must not be acted on again by a restart), else at most every
``every`` seconds, and at the run's end. A restart after a crash therefore reads again
up to ``every`` seconds of boot and cluster events, which the reconciler ignores where
they were already acted on: a node they moved is recorded past them (an event that means
nothing in its state, ``lifecycle.IllegalEvent``, or a step inside its phase), and an
event of an earlier attempt is not its attempt's (the sharded controller relies on the
same when its shards' positions differ). On the Kubernetes store each save is an API
request (a merge patch of a ConfigMap): saving at every poll cost about one per server.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from strata.store import Store

__all__ = ["SavedCursor"]


class SavedCursor:
    """``name``: the cursor's key in the store; ``every``: seconds between saves of a
    position that carries no request; ``clock``: seconds (``time.time``)."""

    def __init__(
        self,
        store: Store,
        name: str,
        every: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.name, self.every, self.clock = store, name, every, clock
        self._saved: int | None = None
        self._latest: int | None = None
        self._at = -math.inf

    def load(self) -> int:
        """The position saved by the last run (0: none)."""
        self._saved = self._latest = self.store.cursor(self.name)
        return self._saved

    def advance(self, position: int, urgent: bool = False) -> None:
        """The entries up to ``position`` are acted on and their records written;
        ``urgent``: they held a person's request (saved now)."""
        self._latest = position
        if urgent or self.clock() - self._at >= self.every:
            self.save()

    def save(self) -> None:
        """Write the latest position if it moved since the last save."""
        if self._latest is not None and self._latest != self._saved:
            self.store.set_cursor(self.name, self._latest)
            self._saved, self._at = self._latest, self.clock()
