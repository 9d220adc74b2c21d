"""Servers in flight, and the bounded wait for them to settle before a move freezes
its source (docs/pivot.md, "Preflight", "Servers in flight").

A server is in flight when a machine action is under way on it (its state one of
``IN_FLIGHT``) or a boot attempt of it is open (its ``expires`` in the future: a
machine may still present a token). The copy is taken from a frozen source, and a
frozen source settles nothing: its controller stops acting and its boot service
refuses writes, so a boot in flight would never be recorded as finished. So the wait
is done *before* the freeze, while whatever drives the servers still may, and checked
again *under* it (``freeze_steady``): a server that began moving between the two is
let go on — the freeze given back, waited for again — within the same bound.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from strata.store import MovableStore

__all__ = [
    "IN_FLIGHT",
    "OPEN",
    "StillMoving",
    "freeze_steady",
    "in_flight",
    "states",
    "summary",
    "wait",
]

IN_FLIGHT = frozenset(
    {"registering", "inspecting", "provisioning", "booting", "installing", "deprovisioning"}
)
OPEN = "boot attempt open"  # what ``in_flight`` says of a steady server whose attempt is open
POLL = 2.0  # seconds between reads of the store while waiting
SAY_EVERY = 30.0  # seconds: progress said at least this often, and on every change
GRACE = 30.0  # seconds given what drove the servers to let go of the source once they settle


class StillMoving(Exception):
    """Servers still in flight at the bound: ``busy`` (name -> state or ``OPEN``)."""

    def __init__(self, busy: dict[str, str]) -> None:
        super().__init__(f"servers in flight at the bound: {names(busy)}")
        self.busy = busy


def in_flight(store: MovableStore, now: float | None = None) -> dict[str, str]:
    """name -> its state (one of ``IN_FLIGHT``), or ``OPEN`` for a server with an open
    boot attempt; a steady server is not in the result. Reads the store (no cache)."""
    now = time.time() if now is None else now
    busy = {n: r.state for n, r in store.records().items() if r.state in IN_FLIGHT}
    for node in store.export_nodes():
        if node.expires is not None and node.expires > now:
            busy.setdefault(node.name, OPEN)
    return busy


def names(busy: dict[str, str], most: int = 10) -> str:
    shown = sorted(busy)[:most]
    more = f" and {len(busy) - most} more" if len(busy) > most else ""
    return ", ".join(shown) + more


def states(busy: dict[str, str]) -> list[tuple[str, int]]:
    """How many servers of ``busy`` are in each state (``OPEN`` among them), sorted by
    state: ``[("boot attempt open", 1), ("provisioning", 2)]``."""
    return sorted(Counter(busy.values()).items())


def summary(busy: dict[str, str]) -> str:
    """``3 servers in flight (boot attempt open 1, provisioning 2)``"""
    parts = ", ".join(f"{state} {count}" for state, count in states(busy))
    return f"{len(busy)} server{'s' * (len(busy) != 1)} in flight ({parts})"


def wait(
    store: MovableStore,
    until: float,
    say: Callable[[str], None],
    poll: float = POLL,
    driver: Callable[[], str | None] = lambda: None,
) -> dict[str, str]:
    """Reads the store every ``poll`` seconds until no server is in flight or the
    monotonic clock passes ``until``; returns what is in flight at the end ({}:
    steady). Says the count and states when they change, at least every ``SAY_EVERY``
    seconds; ``driver()`` names what drives them (None: nothing does — said, since
    nothing will then settle them until a controller runs)."""
    busy = in_flight(store)
    said, last = "", 0.0
    while busy and time.monotonic() < until:
        driving = driver()
        what = summary(busy) + (
            f"; driven by {driving}" if driving else "; no controller is driving them"
        )
        if what != said or time.monotonic() - last >= SAY_EVERY:
            say(f"waiting: {what}; {_left(until)} left")
            said, last = what, time.monotonic()
        time.sleep(max(0.0, min(poll, until - time.monotonic())))
        busy = in_flight(store)
    if busy:
        say(f"waiting: still {summary(busy)} at the bound: {names(busy)}")
        return busy
    if said:
        say("waiting: every server is steady")
    if said and driver():  # what drove them, given a moment to stop (strata apply --until)
        give_up = min(until, time.monotonic() + GRACE)
        while driver() and time.monotonic() < give_up:
            time.sleep(poll)
    return busy


def _left(until: float) -> str:
    seconds = max(0, round(until - time.monotonic()))
    return f"{seconds // 60}m{seconds % 60:02d}s"


def freeze_steady(
    store: MovableStore,
    freeze: Callable[[], None],
    thaw: Callable[[], None],
    until: float,
    say: Callable[[str], None],
    poll: float = POLL,
) -> None:
    """``freeze()``, then the servers read again under it: when one began moving since
    the wait, ``thaw()`` (the freeze given back, so it can settle), wait again, and
    freeze again — until steady under the freeze or ``until`` (monotonic) passes:
    then ``StillMoving`` is raised with the freeze given back."""
    while True:
        freeze()
        busy = in_flight(store)
        if not busy:
            return
        thaw()
        if time.monotonic() >= until:
            raise StillMoving(busy)
        say(f"frozen with {summary(busy)}: the freeze given back until they settle")
        busy = wait(store, until, say, poll)
        if busy:
            raise StillMoving(busy)
