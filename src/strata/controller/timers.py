"""The reconciler's timers: phase deadlines, waits before a retry, a rack's next power-on
slot; a heap, soonest first, each timer tagged with the node's generation so that one set
before the node moved on is recognised as stale when it fires."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

__all__ = ["Timers"]


class Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, int, str]] = []
        self._seq = 0  # keeps equal times in the order they were set

    def add(self, at: float, name: str, generation: int, kind: str) -> None:
        """``kind``: "deadline", "retry" or "wake" (``name`` a rack key then)."""
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, name, generation, kind))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> Iterator[tuple[str, int, str]]:
        """(name, generation, kind) of every timer at or before ``now``, soonest first;
        a timer added while iterating fires in this pass if it is due."""
        while self._heap and self._heap[0][0] <= now:
            _, _, name, generation, kind = heapq.heappop(self._heap)
            yield name, generation, kind
