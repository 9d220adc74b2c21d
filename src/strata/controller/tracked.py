"""What the reconciler knows about each node while it runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from strata.controller.actions import resume_action
from strata.controller.lifecycle import MAINTENANCE_FROM, STOPPED, Action, State
from strata.plan import ChangeKind, NodePlan, Plan, node_plan_from_jsonable
from strata.store import NodeRecord

__all__ = ["ANY_ATTEMPT", "INSTALLED", "UNDER_INSTALL", "Tracked", "tracked_from"]

ANY_ATTEMPT = -1  # held news of the node itself (its Node Ready), not of one attempt

# the OS is on its disk: reinstalled only with the person's consent (reprovision)
INSTALLED = frozenset({State.PROVISIONED, State.JOINING, State.JOINED})
# an install in progress: the states a provisioning attempt is open in
UNDER_INSTALL = frozenset({State.PROVISIONING, State.BOOTING, State.INSTALLING})


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
    seen: str | None = None  # what its layer's watch of Nodes last said of it
    # boot events (and its Node's news) that outran the power-on's result: (log id, the
    # attempt they belong to or ANY_ATTEMPT, event)
    early: list[tuple[int, Any, Any]] = field(default_factory=list)

    @property
    def removed(self) -> bool:
        """No longer in the topology: only a power-off (with --prune) is left for it."""
        return self.intent is ChangeKind.DELETE

    @property
    def installed(self) -> bool:
        """Its OS is on its disk: installed, or in maintenance from there (it returns
        there: a change of what it is installed from still needs a reinstall)."""
        came_from = self.marks.get(MAINTENANCE_FROM)
        return self.state in INSTALLED or (
            self.state is State.MAINTENANCE and came_from in INSTALLED
        )

    @property
    def stopped(self) -> bool:
        """Failed, found running or in maintenance (``lifecycle.STOPPED``): until a person acts."""
        return self.state in STOPPED

    def settled(self, target: State) -> bool:
        """Nothing more for the run to do: at ``target`` (provisioned or joined), joined,
        held, failed, found running, in maintenance, or removed and not being powered off."""
        if self.busy or self.action is Action.EJECT_MEDIA:  # a BMC step yet to run
            return False
        if self.held or self.stopped:
            return True
        if self.removed:  # settled unless being powered off
            return self.state is not State.DEPROVISIONING
        if target is State.PROVISIONED:  # installed: joining or joined is past it
            return self.state in INSTALLED
        return self.state is State.JOINED


def tracked_from(
    plan: Plan, records: Mapping[str, NodeRecord]
) -> Iterator[tuple[Tracked, NodeRecord | None]]:
    """Every node of the run, as the store left it: a node of the plan with its record
    (None: never seen), a removed node from its recorded plan; each resting in its
    state, with the action that state goes on with (``resume_action``)."""
    plans = {p.name: p for p in plan.nodes}
    for change in plan.actions:
        record = records.get(change.node)
        if change.kind is ChangeKind.DELETE:
            assert record is not None and record.plan is not None  # a deletion is recorded
            node_plan = node_plan_from_jsonable(record.plan)
        else:
            node_plan = plans[change.node]
        t = Tracked(change.node, node_plan, change.kind, State.DECLARED, 0, changed=change.changed)
        if record is not None:
            t.state, t.version, t.marks = State(record.state), record.version, dict(record.marks)
            t.deadline, t.step, t.reason = record.deadline, record.step, record.reason
            t.action = resume_action(t.state, t.marks)
        yield t, record
