"""Named instants of a move where a test stops it, as etcd's gofail and TiKV's
fail-rs do: ``reached(name)`` does nothing unless the environment variable
``STRATA_PIVOT_FAILPOINT`` names that instant (then the process SIGKILLs itself
there: a crash at exactly that point, nothing flushed or cleaned), or
``STRATA_PIVOT_PAUSE`` names it with seconds to sleep there (a slow run, for a second
one to meet), or ``STRATA_PIVOT_STOP`` names it with a file (the process SIGSTOPs
itself there, every thread with it, and again each time it is continued until that
file exists: a stalled run, held still however often a test continues it to look), or
a test in the same process registered an action for it in ``ACTIONS``.

Names: ``before:<step>`` and ``after:<step>`` (around each step's work, before its
journal entry), ``journaled:<step>`` (its entry written in both stores),
``copy:secrets``, ``copy:nodes:<batch>``, ``copy:log:<batch>``, ``copy:cursors``
(each fenced write's ``<name>:read`` and ``<name>:confirmed`` too, with ``token-key``
and ``cursors``: ``strata.pivot.fencing``; ``copy:topology:read`` between a move
between clusters' read of the target's Topology object and its confirmation),
``switch:target-taken``, ``rollback:target-cleaned``, ``resume:spawned`` (a host
controller started, its pid file not yet written), ``install:recorded`` (the
install's objects in the journal, none made), ``install:one-made``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

__all__ = ["ACTIONS", "ENV", "PAUSE", "STOP", "reached"]

ENV = "STRATA_PIVOT_FAILPOINT"
PAUSE = "STRATA_PIVOT_PAUSE"  # "<name>=<seconds>": the process sleeps there (a slow run)
STOP = "STRATA_PIVOT_STOP"  # "<name>=<file>": SIGSTOPped there until the file exists
ACTIONS: dict[str, Callable[[], None]] = {}


def reached(name: str) -> None:
    action = ACTIONS.get(name)
    if action is not None:
        action()
    paused, _, seconds = os.environ.get(PAUSE, "").partition("=")
    if paused == name:
        time.sleep(float(seconds or 0))
    stopped, _, until = os.environ.get(STOP, "").partition("=")
    while stopped == name and not os.path.exists(until):
        os.kill(os.getpid(), signal.SIGSTOP)
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
