"""Fenced writes into a move's target (docs/pivot.md, "Fenced writes"): a run stalled
past its move lease (SIGSTOP, a GC pause, a suspended laptop) must not land a write
after another run took the move over and the target's controller started changing
Servers.

The order for each batch the copy writes: read the objects (one LIST or GET), confirm
that this run still holds the move (one read of the source's journal: ``Kept.check``),
then write each object conditional on the ``resourceVersion`` read before that
confirmation, creating those absent then (``strata.store.kube_conditional``). A write
made by anyone after the confirmation bumps the ``resourceVersion``, so the stalled
run's write is refused (409) and the run confirms again: taken over, it stops with
``MoveTakenOver`` and writes nothing more; still its own (some other writer in the
namespace), it reads again and retries, a bounded number of times.

``failpoints.reached`` names ``<batch>:read`` and ``<batch>:confirmed``, the instants
between the read and the confirmation and between the confirmation and the writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from strata.pivot import failpoints
from strata.pivot.journal import TAKEN, JournalTaken
from strata.store.records import Fenced

__all__ = ["ATTEMPTS", "Fence", "MoveTakenOver"]

ATTEMPTS = 5  # conflicts under a lease still held before the copy gives up
T = TypeVar("T")


class MoveTakenOver(JournalTaken):
    """Another run took the move while this one was stopped: this one writes no more."""

    hint = "another strata pivot took the move over: let it finish (strata pivot again shows it)"


class Fence:
    """The copy's confirmations, over ``check`` (raises ``JournalTaken`` when this run no
    longer has the move). ``conflicts``: writes refused so far while the move was held."""

    def __init__(self, check: Callable[[], None]) -> None:
        self.check = check
        self.conflicts = 0

    def confirm(self) -> None:
        """``MoveTakenOver`` when the move is no longer this run's (one read of it)."""
        try:
            self.check()
        except JournalTaken:
            raise MoveTakenOver(TAKEN) from None

    def write(self, name: str, read: Callable[[], T], write: Callable[[T], object]) -> None:
        """``write(read())`` with a confirmation between the two (see the module's
        docstring). ``MoveTakenOver``; ``Fenced`` after ``ATTEMPTS`` conflicts."""
        for attempt in range(ATTEMPTS):
            seen = read()
            failpoints.reached(f"{name}:read")
            self.confirm()
            failpoints.reached(f"{name}:confirmed")
            try:
                write(seen)
                return
            except Fenced:
                self.confirm()  # taken over: MoveTakenOver, and nothing more written
                self.conflicts += 1
                if attempt == ATTEMPTS - 1:
                    raise

    def plain(self, name: str, write: Callable[[], object]) -> None:
        """``write()`` into a store that fences itself (a state file's claim,
        ``SQLiteMove.claim_fence``), after a confirmation; a refused write
        (``Fenced``) is confirmed again, so a takeover is ``MoveTakenOver``."""
        self.confirm()
        failpoints.reached(f"{name}:confirmed")
        try:
            write()
        except Fenced:
            self.confirm()
            raise
