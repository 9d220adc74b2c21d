"""What clients make the boot service write, coalesced per key and window, in bounded memory.

Before any token is checked, every request may write to the state file: a refused
token, a machine in no topology, a script fetched. Written one row per request, a
client repeating itself (or forging tokens, or inventing MACs) grows the log without
bound: 10,000 forged requests were 10,000 rows. So each thing the service would
write has a key (node, event, and the detail that identifies it: a reason, a route,
an attempt, never a value the client chose freely). The first occurrence of a key
is written at once, so the controller and an operator see it without delay; repeats
within ``WINDOW_SECONDS`` of it are only counted, per source address; when the
window closes, the service writes one summary of them (``repeated``, with the count
and the sources). Memory and rows per window are bounded: keys that clients can
invent (``capped``: refusals, unknown machines) are tracked ``MAX_TRACKED`` at a
time and ``MAX_TRACKED_PER_SOURCE`` per address; beyond that, occurrences are
counted under the node ``*`` per event, without their node or reason. Keys the
service itself bounds (a node's attempt in progress) are always tracked.

The same idea as rsyslog's and journald's rate limits ("message repeated N times",
``RateLimitIntervalSec``), with the counts kept where operators read events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "MAX_NAMED_SOURCES",
    "MAX_TRACKED",
    "MAX_TRACKED_PER_SOURCE",
    "OTHERS",
    "OVER",
    "WINDOW_SECONDS",
    "Key",
    "Repeats",
    "Tally",
]

WINDOW_SECONDS = 60.0  # a key is written at most once per window, plus one summary
MAX_TRACKED = 256  # client-invented keys tracked at once: at most 2 rows each per window
MAX_TRACKED_PER_SOURCE = 16  # ... of which one address may open this many
MAX_NAMED_SOURCES = 8  # addresses named in a summary; the rest are counted as OTHERS
OTHERS = "others"
OVER = "*"  # the node of summaries that count occurrences beyond the tracking bounds

Key = tuple[str, str, tuple[tuple[str, object], ...]]  # node, event, identifying detail


@dataclass(frozen=True, slots=True)
class Repeats:
    """A closed window's occurrences that were not written: the summary to write."""

    node: str
    event: str
    ident: tuple[tuple[str, object], ...]
    count: int
    sources: Mapping[str, int]
    seconds: float

    def detail(self) -> dict[str, object]:
        return {
            "event": self.event,
            **dict(self.ident),
            "repeats": self.count,
            "sources": dict(self.sources),
            "seconds": self.seconds,
        }


@dataclass(slots=True)
class _Window:
    opened: float
    opener: str | None  # the address that opened a capped window (its per-source share)
    count: int = 0
    sources: Counter[str] = field(default_factory=Counter)

    def add(self, source: str) -> None:
        self.count += 1
        named = source in self.sources or len(self.sources) < MAX_NAMED_SOURCES
        self.sources[source if named else OTHERS] += 1


class Tally:
    def __init__(
        self,
        window: float = WINDOW_SECONDS,
        max_tracked: int = MAX_TRACKED,
        max_per_source: int = MAX_TRACKED_PER_SOURCE,
    ) -> None:
        self.window, self.max_tracked, self.max_per_source = window, max_tracked, max_per_source
        self._open: dict[Key, _Window] = {}  # in the order they opened: the oldest first
        self._capped: Counter[str] = Counter()  # open capped windows, by opener
        self._capped_total = 0

    def offer(self, key: Key, source: str, now: float, capped: bool) -> bool:
        """True: the first occurrence of ``key`` in its window, to write now. False: counted
        for the window's summary (or, beyond the bounds, for the ``*`` summary)."""
        window = self._open.get(key)
        if window is not None:
            window.add(source)
            return False
        if capped and not self._room(source):
            over: Key = (OVER, key[1], ())
            self._open.setdefault(over, _Window(now, None)).add(source)
            return False
        self._open[key] = _Window(now, source if capped else None)
        if capped:
            self._capped[source] += 1
            self._capped_total += 1
        return True

    def closed(self, now: float) -> list[Repeats]:
        """Close the windows that have ended; the summaries of those that saw repeats."""
        out: list[Repeats] = []
        while self._open:
            key, window = next(iter(self._open.items()))
            if window.opened + self.window > now:
                break
            out += self._close(key, window)
        return out

    def drain(self) -> list[Repeats]:
        """Close every window (the service is stopping): the summaries of repeats."""
        out: list[Repeats] = []
        for key, window in list(self._open.items()):
            out += self._close(key, window)
        return out

    def forget(self, key: Key) -> None:
        """Close ``key``'s window without a summary: its first entry was not written (a
        move refused it), so the next offer is written, not counted as a repeat."""
        window = self._open.get(key)
        if window is not None:
            self._close(key, window)

    def tracked(self) -> int:
        return len(self._open)

    def _room(self, source: str) -> bool:
        return self._capped_total < self.max_tracked and self._capped[source] < self.max_per_source

    def _close(self, key: Key, window: _Window) -> list[Repeats]:
        del self._open[key]
        if window.opener is not None:
            self._capped[window.opener] -= 1
            self._capped_total -= 1
            if self._capped[window.opener] <= 0:
                del self._capped[window.opener]
        if window.count == 0:
            return []
        node, event, ident = key
        return [Repeats(node, event, ident, window.count, window.sources, self.window)]
