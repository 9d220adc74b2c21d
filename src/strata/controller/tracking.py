"""What the reconciler knows about each node while it runs, and what it tells observers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strata.controller.lifecycle import State
from strata.plan import ChangeKind, NodePlan
from strata.topology import Node

__all__ = ["BMC_STATES", "DONE", "ApplyOptions", "Change", "Summary", "Timeouts", "Tracked"]

DONE = frozenset({State.PROVISIONED, State.JOINED})  # an apply's target (joining comes with kube)
BMC_STATES = frozenset(
    {State.REGISTERING, State.INSPECTING, State.PROVISIONING, State.DEPROVISIONING}
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds each waiting phase may take before the node fails with a timeout."""

    registering: float = 300.0
    inspecting: float = 600.0
    provisioning: float = 900.0  # boot device, power-on, and waiting for the rack's budget
    booting: float = 1800.0  # power-on until the installer fetched its Ignition config
    installing: float = 3600.0  # until the installer reports the OS written
    deprovisioning: float = 600.0

    def of(self, state: State) -> float | None:
        value = getattr(self, state.value, None)
        return float(value) if value is not None else None

    def with_overrides(self, overrides: Mapping[str, float]) -> Timeouts:
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"no phase named {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    concurrency: int = 32  # BMC operations in flight at once, datacenter-wide
    timeouts: Timeouts = field(default_factory=Timeouts)
    allow_reprovision: frozenset[str] = frozenset()
    prune: bool = False
    poll_interval: float = 0.25  # how often the boot service's events are read
    lease_ttl: float = 30.0
    attempt_lifetime: float = 4 * 3600.0  # how long a provisioning attempt's tokens live
    max_backoff: float = 30.0  # cap of the backoff between tries of a transient BMC fault


@dataclass(frozen=True, slots=True)
class Change:
    """One node moved (or was first seen, with ``before`` None)."""

    node: str
    region: str
    rack: str
    layer: str
    before: State | None
    after: State
    event: str
    reason: str | None
    at: float
    held: str | None = None  # why the controller leaves the node as it is


@dataclass
class Tracked:
    name: str
    plan: NodePlan
    node: Node | None  # None: removed from topology.yaml
    intent: ChangeKind
    state: State
    version: int  # of the stored record, counting writes not yet flushed
    marks: dict[str, Any] = field(default_factory=dict)
    changed: tuple[str, ...] = ()  # plan fields that differ from the recorded plan
    step: str | None = None  # where a failed node stopped
    reason: str | None = None  # why
    deadline: float | None = None
    generation: int = 0  # bumps with every transition: older action results are stale
    busy: bool = False
    tries: int = 0  # transient BMC faults in this phase
    last_error: str | None = None
    held: str | None = None
    # boot events that outran the power-on's result: (log id, attempt, event)
    early: list[tuple[int, Any, Any]] = field(default_factory=list)

    def settled(self) -> bool:
        if self.busy:
            return False
        if self.held or self.state in (State.FAILED, State.MAINTENANCE, State.FOUND_RUNNING):
            return True
        if self.node is None:  # removed: settled unless being powered off
            return self.state is not State.DEPROVISIONING
        return self.state in DONE


@dataclass(frozen=True, slots=True)
class Summary:
    states: Mapping[str, State]
    failed: Mapping[str, str]  # node -> "step: reason"
    held: Mapping[str, str]
    seconds: float
    found_running: Mapping[str, str] = field(default_factory=dict)  # node -> why

    @property
    def ok(self) -> bool:
        """Every node reached its target or waits only for consent it was told to ask for."""
        return not self.failed and not self.found_running
