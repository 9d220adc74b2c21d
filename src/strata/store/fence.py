"""The freeze a move puts on the boot service's writes (docs/pivot.md, "Resume and the
handover").

While ``strata pivot`` holds a state's writer lease (``strata pivot <id>: ...``: the
source frozen, the target receiving or taking over) and once the state has moved (``the
controller in ... (moved there by strata pivot <id>)``), what the boot service writes —
a single-use token consumed, a phone-home or any log entry, a machine in no topology
seen — is refused with ``WritesRefused``: on a SQLite state in the same transaction as
the write (the lease is read under the write lock the move's own lease write takes), so
nothing reaches a frozen state between its copy and the switch. Kubernetes has no
transaction over two objects (the Lease and a log segment or Server): the Kubernetes
store reads its Lease before such a write, at most ``SAMPLE_SECONDS`` old (``Sampled``),
so a write begun up to that long plus one request before the freeze can land after it —
verify then finds the difference and the move is rolled back. The boot service
answers 503 with Retry-After (``strata.boot.frozen``); a machine retries, and once the
move is done it reaches the new plane.

The holders are ``strata.pivot.ends.marker``'s; this module reads their prefixes only
(the store imports no pivot code).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from strata.errors import StrataError

__all__ = ["SAMPLE_SECONDS", "Sampled", "WritesRefused", "check", "move_holding"]

SAMPLE_SECONDS = 1.0  # how old the Kubernetes store's reading of its lease may be


class WritesRefused(StrataError):
    """A write a move's freeze (or its end: the state moved) refuses. ``holder``: the
    lease holder that says why; ``moved``: for good (the state lives elsewhere now)."""

    kind = "writes-refused"
    exit_code = 2

    def __init__(self, holder: str) -> None:
        self.holder, self.moved = holder, move_holding(holder) == "moved"
        why = "the state moved" if self.moved else "a move holds the state"
        super().__init__(f"{why}: {holder}")
        self.hint = (
            "send it where the plane lives now"
            if self.moved
            else "retry once the move ends (a few seconds to minutes)"
        )


def move_holding(holder: str | None) -> str | None:
    """ "moving" (a move's freeze, receiving, taking over), "moved", or None for any other
    holder (``strata apply``, a controller) or none."""
    text = str(holder or "")
    if text.startswith("strata pivot "):
        return "moving"
    if text.startswith("the controller in ") and " (moved there by strata pivot " in text:
        return "moved"
    return None


def check(db: sqlite3.Connection, now: float | None = None) -> None:
    """In a transaction of a SQLite state: ``WritesRefused`` when a move's holder holds
    its live writer lease."""
    row = db.execute("SELECT holder, expires FROM writer WHERE id = 1").fetchone()
    live = row is not None and row[1] > (time.time() if now is None else now)
    if live and move_holding(row[0]) is not None:
        raise WritesRefused(row[0])


class Sampled:
    """The Kubernetes store's check: ``writer`` (the store's lease reader) read at most
    once every ``period`` seconds, its holder checked before each boot-service write."""

    def __init__(
        self, writer: Callable[[], tuple[str, float] | None], period: float = SAMPLE_SECONDS
    ) -> None:
        self.writer, self.period = writer, period
        self._holder: str | None = None
        self._read_at = -period

    def check(self) -> None:
        now = time.monotonic()
        if now - self._read_at >= self.period:
            found = self.writer()
            self._holder, self._read_at = (found[0] if found else None), now
        if self._holder is not None and move_holding(self._holder) is not None:
            raise WritesRefused(self._holder)
