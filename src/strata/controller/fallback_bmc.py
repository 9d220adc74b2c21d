"""Which of a node's BMC addresses an action goes through: its first, or its
``bmc.fallback`` once an action through the first failed (docs/bmc.md, "A fallback BMC").

The switch is an ``Outcome`` like any action's (``bmc-fallback``): the node's marks name
the fallback's address (``BMC_MARK``, kept for the install by ``actions.marks_after``),
and the lifecycle runs the phase's action again through it (``lifecycle.TABLE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strata.bmc import AuthenticationFailed, BMCError
from strata.controller.actions import BMC_MARK, MEDIA, REPOWER, Outcome
from strata.controller.lifecycle import Action, Event
from strata.plan import NodePlan

__all__ = ["bmc_fallback", "bmc_plan", "driver_plan"]


def bmc_plan(plan: NodePlan, marks: Mapping[str, Any]) -> NodePlan:
    """The plan a node's BMC driver is made from: ``through_fallback`` once its actions
    went over to its fallback BMC (``BMC_MARK`` naming that address; a fallback edited
    since is not it), else ``plan``."""
    fallback = plan.bmc_fallback
    if fallback is not None and marks.get(BMC_MARK) == fallback.address:
        return plan.through_fallback()
    return plan


def driver_plan(plan: NodePlan, marks: Mapping[str, Any], action: Action) -> NodePlan:
    """``bmc_plan``, but an eject goes to the BMC that holds the image (``MEDIA`` names
    it): one inserted through the first BMC before the switch is ejected there (as is
    one a state from before fallback BMCs marks ``True``: there was only the first)."""
    if action is Action.EJECT_MEDIA and marks.get(MEDIA) in (plan.bmc_address, True):
        return plan
    return bmc_plan(plan, marks)


def bmc_fallback(
    plan: NodePlan, marks: Mapping[str, Any], fault: BaseException, action: Action
) -> Outcome | None:
    """When ``action`` through a node's first BMC failed (``fault``, a ``BMCError``:
    unreachable, timed out, an error answer, no such system, none of the node's boot
    methods — those it lacks were skipped first, ``prepare_boot``), and the node has a
    fallback BMC not yet in use: ``bmc-fallback``, its marks going over to the fallback,
    the phase's action to go again through it, and the reason. None otherwise: a bug
    (no BMC's fault), an eject (only ever said), or refused credentials that the
    fallback would send again (the same entry: repeated bad logins lock BMC accounts)
    — the fault is the reconciler's, as for a node with one BMC.

    A power-on that failed leaves its attempt open: the marks say so (``REPOWER``), so
    that prepare-boot through the fallback sets the boot device there and powers on
    again rather than take the machine as powered on for the attempt; and they drop
    ``prepared`` (that boot device was set through the first BMC), so a restarted
    controller prepares the boot again too."""
    fallback = plan.bmc_fallback
    if fallback is None or bmc_plan(plan, marks) is not plan or not isinstance(fault, BMCError):
        return None
    if action is Action.EJECT_MEDIA:
        return None
    if isinstance(fault, AuthenticationFailed) and fallback.credentials == plan.bmc_credentials:
        return None
    detail = {"from": plan.bmc_address, "to": fallback.address, "reason": str(fault)}
    after = {k: v for k, v in marks.items() if k != "prepared"}
    after[BMC_MARK] = fallback.address
    if action is Action.POWER_ON:
        after[REPOWER] = True
    return Outcome(Event.BMC_FALLBACK, str(fault), detail, after, ("bmc-fallback", detail))
