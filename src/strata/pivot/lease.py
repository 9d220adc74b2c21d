"""The move lease: one run of a move at a time (docs/pivot.md, "One run at a time").

A run holds it from its first journal write to its end: the source's journal says
who runs it (``lease_holder``: ``pid <n> on <host>``) and until when
(``lease_until``, unix seconds), renewed every ``RENEW`` seconds by a thread
(``Heartbeat``) for ``MOVE_TTL`` seconds. Another run of the same move (the command
run again, ``--abort``, ``--back``) reads it first (``await_free``): a holder on this
host whose process is gone is dead at once (a SIGKILLed run is rerun without waiting);
otherwise it waits until the lease runs out and reads it again — renewed meanwhile,
the holder is alive and the run is refused; not renewed, the holder is dead or
stalled, and the run takes the move (a stalled holder that wakes finds the journal
changed at its next compare-and-swap, ``JournalTaken``, and stops: what it wrote is
the same move's, which the new run goes on with).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable

from strata.pivot.journal import Journal, JournalTaken, Kept
from strata.pivot.moving import PivotRefused

__all__ = ["MOVE_TTL", "RENEW", "Heartbeat", "await_free", "holder"]

MOVE_TTL = 6.0  # seconds a run's lease lasts unless renewed
RENEW = 1.5  # seconds between renewals


def holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _dead_here(name: str) -> bool:
    """A holder on this host whose process no longer exists."""
    pid, _, host = name.removeprefix("pid ").partition(" on ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def await_free(kept: Kept, say: Callable[[str], None], wait: bool = True) -> Journal | None:
    """The journal ``kept`` holds once no other live run holds its move (``kept``
    re-read); ``PivotRefused`` when one renewed its lease while this one waited.
    ``wait`` False (a dry run): said, not waited for."""
    journal = kept.read()
    while journal is not None and journal.unfinished and journal.lease_until is not None:
        if journal.lease_holder == holder() or _dead_here(journal.lease_holder):
            return journal
        left = journal.lease_until - time.time()
        if left <= 0:
            return journal  # ran out: its holder is dead or stalled
        if not wait:
            say(f"move {journal.move} is being run by strata pivot {journal.lease_holder}")
            return journal
        say(f"move {journal.move} was run by {journal.lease_holder}: {left:.0f} s to see it alive")
        time.sleep(left + 0.2)
        kept.reload()
        again = kept.read()
        if again is not None and again.lease_until != journal.lease_until:
            raise PivotRefused(
                f"move {journal.move} is being run by strata pivot {again.lease_holder} "
                f"(its lease renewed): one run of a move at a time — wait for it, or stop it"
            )
        journal = again
    return journal


class Heartbeat:
    """Holds and renews the move lease in the source's journal while a run goes on;
    a failed renewal (the store unreachable) is tried again, a journal taken by
    another run (``JournalTaken``) ends it (the run's next write finds out too)."""

    def __init__(
        self, journal: Journal, kept: Kept, release: Callable[[], None], ttl: float = MOVE_TTL
    ) -> None:
        """``release()`` writes the journal given back (the run's own write: both ends)."""
        self.journal, self.kept, self.release, self.ttl = journal, kept, release, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="move-lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.journal.lease_holder = holder()
        self.journal.lease_until = time.time() + self.ttl
        self.kept.write(self.journal)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(RENEW):
            try:
                self.journal.lease_until = time.time() + self.ttl
                self.kept.write(self.journal)
            except JournalTaken:
                return
            except Exception:  # unreachable now: tried again, or the lease runs out
                continue

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.journal.lease_until = None
        with contextlib.suppress(Exception):  # else it runs out on its own
            self.release()  # given back: a rerun need not wait
