"""The single-writer lease, held by one controller process.

A controller names itself ``strata apply (pid P on HOST)``. A lease left behind
by a controller that was killed on this host (its pid is gone) is taken over at
once rather than waited out; one held by a live process, or by another host,
is respected until it expires.
"""

from __future__ import annotations

import os
import re
import socket
import time

from strata.store import Store, WriterBusy

__all__ = ["Lease"]

_HOLDER = re.compile(r"\(pid (\d+) on ([^)]+)\)$")


class Lease:
    def __init__(self, store: Store, ttl: float, role: str = "strata apply") -> None:
        self.store, self.ttl = store, ttl
        self.holder = f"{role} (pid {os.getpid()} on {socket.gethostname()})"
        self._renewed = 0.0

    def acquire(self) -> None:
        try:
            self.store.acquire_writer(self.holder, self.ttl)
        except WriterBusy as busy:
            if not _dead_here(busy.holder):
                raise
            self.store.acquire_writer(self.holder, self.ttl, replacing=busy.holder)
        self._renewed = time.monotonic()

    def renew(self) -> None:
        """Renew when a third of the lease has run; WriterBusy if it was lost meanwhile."""
        if time.monotonic() - self._renewed >= self.ttl / 3:
            self.store.acquire_writer(self.holder, self.ttl)
            self._renewed = time.monotonic()

    def release(self) -> None:
        self.store.release_writer(self.holder)


def _dead_here(holder: str) -> bool:
    match = _HOLDER.search(holder)
    if match is None or match.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
