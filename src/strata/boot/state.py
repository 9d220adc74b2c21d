"""What the boot service needs to know and record, as an interface the store implements.

``boot`` does not import ``store``: the command that starts the service hands it
an implementation (the SQLite store in bootstrap mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from strata.boot.tokens import Stage

__all__ = ["Attempt", "BootState", "UnknownMachine"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """A provisioning attempt in progress: the node may fetch its install until ``expires``."""

    number: int
    expires: int  # unix seconds


@dataclass(frozen=True, slots=True)
class UnknownMachine:
    mac: str
    uuid: str | None
    serial: str | None
    arch: str | None
    platform: str | None


class BootState(Protocol):
    def attempt(self, node: str) -> Attempt | None:
        """The attempt in progress, or None: then the node boots from its disk."""
        ...

    def consume(self, node: str, attempt: int, stage: Stage) -> bool:
        """Mark a single-use token used; False when it already was (a replay)."""
        ...

    def record(self, node: str, event: str, detail: Mapping[str, object]) -> None: ...

    def record_unknown(self, machine: UnknownMachine) -> None: ...
