"""Run BMC operations the way a fleet needs them run.

One operation at a time per BMC (many BMCs crash or reject concurrent
sessions), a deadline on every operation, and retries with exponential
backoff and full jitter for transient faults only. Authentication failures
are never retried: repeated bad logins lock BMC accounts.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from strata.bmc.errors import BMCError, TimedOut

__all__ = ["Guard", "Observe", "RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger("strata.bmc")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3  # tries in all, the first included
    base_delay: float = 0.5  # seconds before the first retry
    max_delay: float = 10.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter")."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * (2**retry)))


Observe = Callable[[str, str, float], None]  # (operation, result, seconds)


class Guard:
    """Serializes and retries the operations of one BMC; ``observe`` (if given) is told
    of each operation once it ends: its name ("power on", "inventory", …), its result
    ("ok", or the ``BMCError`` kind it ended with, "error" for anything else) and its
    seconds, waiting and retries included (``strata.web.metrics.BMCMetrics``)."""

    def __init__(
        self,
        node: str,
        address: str,
        policy: RetryPolicy,
        timeout: float,
        observe: Observe | None = None,
    ) -> None:
        self.node, self.address, self.policy, self.timeout = node, address, policy, timeout
        self.observe = observe
        self._lock = threading.Lock()
        self._rng = random.Random()

    def run(self, operation: str, call: Callable[[], T]) -> T:
        started, result = time.monotonic(), "error"
        try:
            value = self._run(operation, call, started + self.timeout)
            result = "ok"
            return value
        except BMCError as exc:
            result = exc.kind
            raise
        finally:
            if self.observe is not None:
                self.observe(operation, result, time.monotonic() - started)

    def _run(self, operation: str, call: Callable[[], T], deadline: float) -> T:
        if not self._lock.acquire(timeout=self.timeout):
            raise TimedOut(self.node, self.address, f"{operation}: another operation held the BMC")
        try:
            return self._attempts(operation, call, deadline)
        finally:
            self._lock.release()

    def _attempts(self, operation: str, call: Callable[[], T], deadline: float) -> T:
        retry = 0
        while True:
            try:
                return call()
            except BMCError as exc:
                retry += 1
                pause = self.policy.delay(retry - 1, self._rng)
                if not exc.transient or retry >= self.policy.attempts:
                    raise
                if time.monotonic() + pause > deadline:
                    raise
                log.info(
                    "bmc retry node=%s bmc=%s op=%s attempt=%d kind=%s",
                    self.node,
                    self.address,
                    operation,
                    retry + 1,
                    exc.kind,
                )
                time.sleep(pause)
