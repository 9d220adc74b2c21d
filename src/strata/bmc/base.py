"""What every driver shares: its target, credentials and time limits, and the guard that
serializes and retries its operations. A driver adds its protocol and translates its
library's faults into ``BMCError`` in ``_translate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from strata.bmc.credentials import Credentials
from strata.bmc.guard import Guard, RetryPolicy
from strata.bmc.types import BMCTarget, DriverSettings

__all__ = ["GuardedDriver"]

T = TypeVar("T")


class GuardedDriver:
    def __init__(
        self,
        target: BMCTarget,
        credentials: Credentials,
        settings: DriverSettings | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.target = target
        self._credentials = credentials
        self._settings = s = settings or DriverSettings()
        policy = RetryPolicy(attempts=s.attempts, base_delay=s.retry_delay)
        self._guard = guard or Guard(
            target.node, target.address, policy, s.operation_timeout, s.observe
        )

    def _run(self, operation: str, call: Callable[[], T]) -> T:
        return self._guard.run(operation, lambda: self._translate(operation, call))

    def _translate(self, operation: str, call: Callable[[], T]) -> T:
        raise NotImplementedError
