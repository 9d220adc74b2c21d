"""What the plan asks of a node at rest: the event that moves it on (create it, in its
layer's order when the run's target is joined; reinstall it with the person's consent;
watch for it in its cluster; power it off with --prune), or why it is held."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strata.controller.layers import OPEN, WAIT, Gate
from strata.controller.lifecycle import Event, State
from strata.controller.options import SEED_HELD, ApplyOptions
from strata.controller.tracked import INSTALLED, Tracked
from strata.plan import ChangeKind

__all__ = ["Intent", "plan_intent"]

# (the event to feed, its detail), why the node is held (the consent it needs), or None:
# nothing is asked of it, and its action (if any) goes on.
Intent = tuple[Event, dict[str, Any]] | str | None


def plan_intent(t: Tracked, options: ApplyOptions, gate: Callable[[Tracked], Gate]) -> Intent:
    """A node of the topology: declared starts, ready provisions (when the run's target is
    joined, once ``gate`` opens: its layer's order); a provisioned one joins its cluster
    when the target is joined; a found-running one is reinstalled, and an installed one
    whose plan changed what its OS is installed from reinstalled, only with
    ``--allow-reprovision``; the seed's own machine (``options.seed_node``) waits at
    declared, untouched, for the pivot to hand it over."""
    if t.removed:
        return _removal(t, options)
    s, consented = t.state, t.name in options.allow_reprovision
    joining = options.target is State.JOINED
    if s is State.DECLARED and t.name == options.seed_node:  # no BMC call: it runs the seed
        return SEED_HELD
    if s is State.DECLARED:
        return Event.START, {}
    if s is State.READY:
        opened = gate(t) if joining else OPEN
        return (Event.PROVISION, {}) if opened == OPEN else None if opened == WAIT else opened
    if s is State.FOUND_RUNNING and consented:  # inspect, then reinstall
        return Event.REPROVISION, {"consented": True}
    if s in INSTALLED and t.intent is ChangeKind.REPROVISION:
        if not consented:
            changed = ", ".join(t.changed)
            return f"{changed} changed: reinstalling needs --allow-reprovision {t.name}"
        return Event.REPROVISION, {}
    if s is State.PROVISIONED and joining:
        return Event.JOIN, {}
    return None


def _removal(t: Tracked, options: ApplyOptions) -> Intent:
    """A node removed from the topology: powered off with ``--prune`` once it is at rest;
    one where nothing of Strata's runs is left alone."""
    s = t.state
    if s in (State.DEPROVISIONING, State.DECLARED, State.FAILED, State.FOUND_RUNNING):
        return None  # being powered off, or nothing of Strata's runs there
    if not options.prune:
        return "removed from topology.yaml: powering it off needs --prune"
    if s in (State.READY, *INSTALLED):
        return Event.DEPROVISION, {}
    if s is State.MAINTENANCE:
        return (
            "removed from topology.yaml while in maintenance: `strata maintenance off`, then prune"
        )
    return f"removed from topology.yaml while {s}: retry or wait, then prune"
