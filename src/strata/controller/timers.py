"""The reconciler's timers: phase deadlines, waits before a retry, a rack's next power-on
slot; a heap, soonest first, each timer tagged with the node's generation so that one set
before the node moved on is recognised as stale when it fires."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

__all__ = ["Timers"]


class Timers:
    def __init__(self, observe_lag: Callable[[str, float], None] | None = None) -> None:
        """``observe_lag``: told ("timer", seconds past its due time) of each timer as it
        fires (``ApplyOptions.observe_lag``), but of one due before the first ``due``
        (a deadline that passed while no controller ran: no loop was late)."""
        self._heap: list[tuple[float, int, str, int, str]] = []
        self._seq = 0  # keeps equal times in the order they were set
        self._observe = observe_lag
        self._since: float | None = None  # the first look: what was due before is no lag

    def add(self, at: float, name: str, generation: int, kind: str) -> None:
        """``kind``: "deadline", "retry" or "wake" (``name`` a rack key then)."""
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, name, generation, kind))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> Iterator[tuple[str, int, str]]:
        """(name, generation, kind) of every timer at or before ``now``, soonest first;
        a timer added while iterating fires in this pass if it is due."""
        since = self._since = now if self._since is None else self._since
        while self._heap and self._heap[0][0] <= now:
            at, _, name, generation, kind = heapq.heappop(self._heap)
            if self._observe is not None and at >= since:
                self._observe("timer", now - at)
            yield name, generation, kind
