"""What the reconciler knows about each node while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strata.controller.lifecycle import Action, State
from strata.plan import ChangeKind, NodePlan

__all__ = ["DONE", "Tracked"]

DONE = frozenset({State.PROVISIONED, State.JOINED})  # an apply's target (joining comes with kube)


@dataclass
class Tracked:
    """One node: its plan (the recorded one for a node removed from the file), where it
    is, and what the controller does with it."""

    name: str
    plan: NodePlan
    intent: ChangeKind  # what the plan says of it (a removed node's: delete)
    state: State
    version: int  # of the stored record, counting writes not yet flushed
    action: Action = Action.NONE  # what it does in its state: the table's, or RESUME's
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

    @property
    def removed(self) -> bool:
        """No longer in the topology: only a power-off (with --prune) is left for it."""
        return self.intent is ChangeKind.DELETE

    def settled(self) -> bool:
        if self.busy:
            return False
        if self.held or self.state in (State.FAILED, State.MAINTENANCE, State.FOUND_RUNNING):
            return True
        if self.removed:  # settled unless being powered off
            return self.state is not State.DEPROVISIONING
        return self.state in DONE
