"""The words the boot service, the store and the controller share about provisioning:
an attempt and the stages of its tokens, what machines and people put in the event
log, a machine that is in no topology, and the state the boot service reads and
writes.

Low in the stack and imports nothing of Strata's, so ``boot`` and ``store`` (siblings)
both use it without importing each other (DESIGN.md, "Direction").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Attempt", "BootState", "LogKind", "Stage", "UnknownMachine"]


class Stage(enum.IntEnum):
    """What a boot token lets its bearer do (``strata.boot.tokens``)."""

    LIVE = 1  # fetch the installer's Ignition config, once
    FINAL = 2  # fetch the installed system's config, once
    EVENTS = 3  # post phone-home events


class LogKind(enum.StrEnum):
    """Kinds of event-log entries that are not state changes, and who writes them."""

    # the boot service, for a machine's requests
    IPXE_FETCHED = "ipxe-fetched"  # its install script
    IGNITION_FETCHED = "ignition-fetched"  # a config (detail: stage)
    ARTIFACT_MISSING = "artifact-missing"  # a file of its install the mirror lacks
    TOKEN_REJECTED = "token-rejected"  # a forged, expired, replayed or stale token
    BOOT_RECIPE_FAILED = "boot-recipe-failed"  # its install script could not be built
    REPEATED = "repeated"  # a window's repeats of one of the above, counted
    # the machine itself, through the boot service (phone-home)
    INSTALLED = "installed"
    FIRST_BOOT = "first-boot"
    ROOT_DEVICE_NOT_FOUND = "root-device-not-found"  # no disk matches its hints: not installed
    ROOT_DEVICE_AMBIGUOUS = "root-device-ambiguous"  # several disks match them: not installed
    # the cluster watch (one watch of Nodes per layer, ``strata.kube.watch``), on change
    API_ANSWERED = "api-answered"  # the layer's API answered (on its init node; detail: layer)
    API_UNREACHABLE = "api-unreachable"  # it did not (on its init node; detail: layer, reason)
    NODE_REGISTERED = "node-registered"  # the node's Node exists, not Ready (detail: reason)
    NODE_READY = "node-ready"  # the node's Node is Ready
    # a person, through `strata retry` / `adopt` / `maintenance`, for a running controller
    RETRY_REQUESTED = "retry-requested"
    ADOPT_REQUESTED = "adopt-requested"
    MAINTENANCE_ON_REQUESTED = "maintenance-on-requested"  # detail: reason (optional)
    MAINTENANCE_OFF_REQUESTED = "maintenance-off-requested"


PHONE_HOME = frozenset(  # what a machine may post
    {
        LogKind.INSTALLED,
        LogKind.FIRST_BOOT,
        LogKind.ROOT_DEVICE_NOT_FOUND,
        LogKind.ROOT_DEVICE_AMBIGUOUS,
    }
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A provisioning attempt in progress: the node may fetch its install until ``expires``."""

    number: int
    expires: int  # unix seconds


@dataclass(frozen=True, slots=True)
class UnknownMachine:
    """A machine that network-booted and is in no topology, as it described itself."""

    mac: str
    uuid: str | None
    serial: str | None
    arch: str | None
    platform: str | None


class BootState(Protocol):
    """What the boot service needs to know and record; the store implements it."""

    def attempt(self, node: str) -> Attempt | None:
        """The attempt in progress, or None: then the node boots from its disk."""
        ...

    def consume(self, node: str, attempt: int, stage: Stage) -> bool:
        """Mark a single-use token used; False when it already was (a replay)."""
        ...

    def record(self, node: str, event: str, detail: Mapping[str, object]) -> None: ...

    def record_many(self, entries: Sequence[tuple[str, str, Mapping[str, object]]]) -> None:
        """Several entries, in order, in one write."""
        ...

    def record_unknown(self, machine: UnknownMachine) -> None: ...
