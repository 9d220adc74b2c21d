"""Power-on scheduling per rack: a rack's power budget as a gate.

A rack's PDUs and breakers are sized for its servers running, not for all of
them drawing inrush current at once: a datacenter that powers a whole rack on in
the same second trips breakers (and a boot storm hits DHCP and the boot service
just as hard). A rack's ``powerBudget`` says how many servers may be powering on
together and how long to wait between two power-ons. The loop asks ``wait`` and
``start`` with its own clock; the worker that makes the power call asks ``pace`` just
before it, so the calls themselves are spaced even when a worker thread starts late.
"""

from __future__ import annotations

import math
import threading
import time

from strata.plan import RackPlan

__all__ = ["PowerGate"]


class PowerGate:
    def __init__(self, rack: RackPlan | None) -> None:
        """``rack``: the rack's plan, its power budget; None: no limit, no stagger."""
        limit = rack.max_concurrent_power_on if rack else None
        self.limit: float = limit if limit is not None else math.inf
        self.stagger = rack.stagger_seconds if rack else 0.0
        self.powering = 0  # power-ons started and not yet settled
        self.last_start = -math.inf
        self._lock = threading.Lock()
        self._last_call = -math.inf  # monotonic time of the last power call itself

    def wait(self, now: float) -> float:
        """Seconds until a power-on may start: 0 now, ``inf`` until one in flight settles."""
        if self.powering >= self.limit:
            return math.inf
        return max(0.0, self.last_start + self.stagger - now)

    def start(self, now: float) -> None:
        self.powering += 1
        self.last_start = now

    def done(self) -> None:
        self.powering = max(0, self.powering - 1)

    def pace(self) -> float:
        """Block (on a worker thread) until ``stagger`` seconds have passed since the rack's
        last power call, then claim this moment: a worker that started late does not bunch
        its call with the next one. Waits at most ``stagger``; returns the moment claimed
        (``time.monotonic()`` seconds)."""
        if self.stagger <= 0:
            return time.monotonic()
        with self._lock:
            now = time.monotonic()
            call = max(now, self._last_call + self.stagger)
            self._last_call = call
        if call > now:
            time.sleep(call - now)
        return call
