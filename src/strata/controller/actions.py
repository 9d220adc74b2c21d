"""The lifecycle's BMC actions, each run on a worker thread and each safe to repeat.

``BMC_ACTIONS`` maps each ``Action`` of the table that talks to a BMC to the function
that performs it, given the node's ``Work`` (copies: a worker never reads what the
reconciler's thread changes). An action returns an ``Outcome`` (the event to feed back
into the lifecycle) or raises ``BMCError``; the reconciler decides what a fault means
(retry a transient one, fail the node on a permanent one). ``power_on`` opens the
node's attempt in the store right before it powers the machine on, so a controller
killed half-way through finds the attempt open and resumes without a second power-on
(``prepare_boot``, ``resume_action``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strata.bmc import (
    BMCDriver,
    BMCFault,
    BootDevice,
    BootMode,
    Capability,
    NotSupported,
    PowerAction,
    PowerState,
)
from strata.bmc.inspection import inspect_node
from strata.controller.lifecycle import MAINTENANCE_FROM, RESUME, Action, Event, State
from strata.plan import NodePlan
from strata.store import Store

__all__ = [
    "BMC_ACTIONS",
    "BMC_MARK",
    "BOOT_DEVICES",
    "FIRST_CONTACT",
    "MAY_RESET",
    "REPOWER",
    "CalledOff",
    "Outcome",
    "Work",
    "check_bmc",
    "eject_media",
    "inspect",
    "left_in",
    "marks_after",
    "method_of",
    "needs_eject",
    "power_off",
    "power_on",
    "prepare_boot",
    "resume_action",
]

VIRTUAL_MEDIA = "virtualmedia"  # boot.method: the node's image in its BMC's virtual CD
BOOT_DEVICES = {
    "pxe": BootDevice.PXE,
    "ipxe": BootDevice.PXE,
    "http": BootDevice.HTTP,
    VIRTUAL_MEDIA: BootDevice.CD,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    event: Event  # fed back into the lifecycle table
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    marks: Mapping[str, Any] | None = None  # the node's marks after the action, if changed
    record: tuple[str, Mapping[str, Any]] | None = None  # kept before what follows, in a
    # step inside a phase (whose transition writes no record): a method skipped, say


@dataclass(frozen=True, slots=True)
class Work:
    """What a BMC action is given: the node's plan and marks (copies), the store (its
    attempts and marks), and, for a power-on, its rack's pace (blocks until the rack's
    stagger lets the call go)."""

    plan: NodePlan
    marks: dict[str, Any]  # the job's own copy
    store: Store
    attempt_lifetime: float  # seconds a provisioning attempt's tokens live
    pace: Callable[[], object] = lambda: None
    media_url: Callable[[str, int], str] | None = None  # ApplyOptions.media_url
    called_off: Callable[[], bool] = lambda: False  # the node moved on (``Workers.call_off``)


class CalledOff(Exception):
    """The node moved on before its action reached its BMC: nothing was done."""


FIRST_CONTACT = "first-contact"  # a mark: Strata has no record of installing this server
MEDIA = "media"  # a mark: an image was inserted in the node's virtual CD for this install
MAY_RESET = "may-reset"  # a mark: a person asked for this (re)install (consent, retry)
BMC_MARK = "bmc"  # a mark: the node's BMC actions go through its fallback BMC (its address)
# a mark: the power-on of the open attempt failed through the first BMC; through the
# fallback, prepare-boot sets the boot again and powers on (a machine found on is on by
# Strata's doing: reset), never taking the attempt as resumed (``fallback_bmc``)
REPOWER = "repower"


def marks_after(
    event: Event, marks: Mapping[str, Any], before: State | None = None
) -> dict[str, Any]:
    """What a lifecycle event does to a node's marks (the notes actions keep) in state
    ``before``. A new install starts clean, keeping only a person's consent; ``start`` is
    first contact; a consented reinstall and a retry are a person's word that a running
    machine may be reset; first contact survives a retry (a retry is no consent to reset
    a server Strata never installed). Maintenance keeps the state it was entered from
    (``MAINTENANCE_FROM``); leaving it drops any consent to reset (a person worked on the
    machine). A switch to the fallback BMC (``BMC_MARK``) holds for the install: a new
    start, a retry or a consented reinstall tries the first BMC again."""
    after = _marks_after(event, marks, before)
    if marks.get(BMC_MARK) and event not in (Event.START, Event.RETRY, Event.REPROVISION):
        after[BMC_MARK] = marks[BMC_MARK]
    else:
        after.pop(BMC_MARK, None)
    return after


def _marks_after(event: Event, marks: Mapping[str, Any], before: State | None) -> dict[str, Any]:
    if event is Event.MAINTENANCE_ON:
        return {**marks, MAINTENANCE_FROM: before.value if before is not None else None}
    if event is Event.MAINTENANCE_OFF:
        return {k: v for k, v in marks.items() if k not in (MAINTENANCE_FROM, MAY_RESET)}
    if event is Event.START:
        return {FIRST_CONTACT: True}
    if event is Event.REPROVISION:  # a new install, with the person's word
        first = {FIRST_CONTACT: True} if marks.get(FIRST_CONTACT) else {}
        return {**first, MAY_RESET: True}
    if event is Event.RETRY:  # the failed attempt's notes stay: a restart reads them
        return {**marks, MAY_RESET: True}
    if event is Event.PROVISION:
        return {MAY_RESET: True} if marks.get(MAY_RESET) else {}
    if event is Event.FALLBACK:  # the same install, its next boot method: the machine is
        # on by Strata's doing (its failed attempt), so the power-on may reset it; an image
        # inserted for the method that failed is still to be ejected
        kept = {MEDIA: marks[MEDIA]} if marks.get(MEDIA) else {}
        return {MAY_RESET: True, "method": int(marks.get("method", 0)) + 1, **kept}
    return dict(marks)


def check_bmc(driver: BMCDriver, work: Work) -> Outcome:
    """Reading the power state proves the address and the credentials.

    At first contact (the ``FIRST_CONTACT`` mark: the store has no record of Strata installing the
    server) anything but off means someone runs it: a lost state must never reinstall a
    fleet, so the node stops at found-running before any power action, for a person to
    adopt it or consent to reinstall it."""
    power = driver.power_state()
    if work.marks.get(FIRST_CONTACT) and power is not PowerState.OFF:
        return _found_running(power, "Strata has no record of installing it")
    return Outcome(Event.BMC_OK, detail={"power": str(power)})


def _found_running(power: PowerState, why: str) -> Outcome:
    """The node stops before any power action, for a person to adopt or reinstall it."""
    reason = f"its BMC says it is {power}, and {why}"
    return Outcome(Event.FOUND_RUNNING, reason=reason, detail={"power": str(power)})


def inspect(driver: BMCDriver, work: Work) -> Outcome:
    """Compare the BMC's inventory with the node's plan (its NICs, disks and root device
    hints, from topology.yaml): a wrong cable or a missing disk stops the node here,
    before anything is written to a disk."""
    if Capability.INVENTORY not in driver.capabilities:
        return Outcome(Event.INSPECTION_PASSED, detail={"notes": ["the BMC offers no inventory"]})
    found = inspect_node(work.plan, driver.inventory())
    if not found.ok:
        return Outcome(Event.INSPECTION_FAILED, reason="; ".join(found.mismatches))
    return Outcome(Event.INSPECTION_PASSED, detail={"notes": list(found.notes)})


def prepare_boot(driver: BMCDriver, work: Work) -> Outcome:
    """Set a one-time network boot for the node's install (``boot-prepared``); the
    power-on is a step of its own (``power_on``), so each rack's budget gates the power-on
    itself, and it is the power-on that opens the attempt.

    Idempotent: an attempt of the node still open (not ended, not expired) was opened by
    a power-on (``power_on`` opens it right before the call), so a machine found on with
    one is the machine Strata powered on for it: the node goes on to booting without a
    second power-on. Its boot device is set again otherwise (``prepared``: the attempt it
    was set for, 0 before the attempt is open).

    A machine that is on, and that Strata did not power on for an attempt in progress,
    is reset only with a person's word (``MAY_RESET``): a state restored from a backup
    or left stale must never reinstall a running server. Otherwise the node stops at
    found-running, before any power action.
    """
    plan, store, marks = work.plan, work.store, dict(work.marks)
    attempt = store.attempt(plan.name)
    if attempt is not None and attempt.expires < time.time():
        attempt = None  # its tokens are dead: a new install needs a new attempt
    power = driver.power_state()
    running = power is not PowerState.OFF
    again = attempt is not None and bool(marks.get(REPOWER))  # its power-on failed: anew
    if again and running:  # the failed power-on may have gone through, its tokens spent:
        store.end_attempt(plan.name, provisioned=False)  # the reset gets a new attempt
        attempt = None
    if attempt is not None and running and not again:
        marks.update(attempt=attempt.number, powered=attempt.number)
        detail = {"attempt": attempt.number, "resumed": True}
        return Outcome(Event.POWERED_ON, detail=detail, marks=marks)
    if running and not marks.get(MAY_RESET) and not again:
        why = "no install of Strata's is in progress there (a restored or stale state, or "
        return _found_running(power, why + "started by someone else)")
    method, skipped, inserted = _set_boot(driver, work, int(marks.get("method", 0)))
    number = attempt.number if attempt is not None else 0
    marks = {k: v for k, v in marks.items() if k in (MAY_RESET, MEDIA, BMC_MARK)}
    marks.update(attempt=number, prepared=number, running=running, method=method)
    marks.update({MEDIA: plan.bmc_address} if inserted else {})  # the BMC that holds it
    if not skipped:
        return Outcome(Event.BOOT_PREPARED, detail={"attempt": number}, marks=marks)
    marks["skipped"] = skipped  # and kept at once: a restart must not try them again
    took = {"attempt": number, "method": work.plan.boot_methods[method], "skipped": skipped}
    return Outcome(Event.BOOT_PREPARED, marks=marks, record=("boot-prepared", took))


def _set_boot(driver: BMCDriver, work: Work, first: int) -> tuple[int, list[dict[str, str]], bool]:
    """Set the one-time boot of the node's boot method ``first`` (an index into
    ``plan.boot_methods``), or of the next one the BMC can do: the method set, each
    skipped with why, and whether an image was inserted. A method the BMC cannot do
    (``NotSupported``) or refuses (a permanent ``BMCFault``: an image it cannot read, a
    device it rejects) is skipped; the last method's fault is raised."""
    plan, skipped, inserted = work.plan, list[dict[str, str]](), False
    mode = BootMode.UEFI if plan.firmware == "uefi" else BootMode.LEGACY
    for index in range(min(first, len(plan.boot_methods) - 1), len(plan.boot_methods)):
        method = plan.boot_methods[index]
        try:
            device = BOOT_DEVICES.get(method)
            if device is None:
                raise NotSupported(plan.name, plan.bmc_address, f"boot method {method}")
            if device is BootDevice.CD:
                _insert_media(driver, work)
                inserted = True
                work.marks[MEDIA] = work.plan.bmc_address  # a fault after this still says
                # which BMC holds an image (the fallback's marks are made from these)
            driver.set_boot_device(device, mode)
            return index, skipped, inserted
        except (NotSupported, BMCFault) as exc:
            if index + 1 == len(plan.boot_methods) or exc.transient:
                raise
            skipped.append({"method": method, "reason": str(exc)})
    raise NotSupported(plan.name, plan.bmc_address, "no boot method left to try")


def _insert_media(driver: BMCDriver, work: Work) -> None:
    """Load the node's virtual media image (``strata.boot.media``) into its BMC's
    virtual CD; its URL lives as long as an attempt's tokens."""
    plan = work.plan
    if work.media_url is None:
        raise NotSupported(
            plan.name,
            plan.bmc_address,
            "boot method virtualmedia: this run serves no boot service for the BMC to read "
            "the node's image from",
            hint="run without --no-serve, or use boot.method ipxe",
        )
    driver.insert_media(work.media_url(plan.name, int(time.time() + work.attempt_lifetime)))


def method_of(plan: NodePlan, marks: Mapping[str, Any]) -> str:
    """The boot method this install of the node takes (its ``method`` mark: an index
    into ``plan.boot_methods``; the last, should the plan now list fewer)."""
    return plan.boot_methods[min(int(marks.get("method", 0)), len(plan.boot_methods) - 1)]


def needs_eject(plan: NodePlan, marks: Mapping[str, Any]) -> bool:
    """A node whose install inserted an image (``MEDIA``; its method may have been
    skipped or failed since) that was not ejected yet."""
    attempt = marks.get("attempt")
    return bool(marks.get(MEDIA)) and attempt is not None and marks.get("ejected") != attempt


def left_in(marks: Mapping[str, Any], fault: BaseException) -> Outcome:
    """An eject that could not be made (``fault``): said, marked done, never retried."""
    done = {**marks, "ejected": marks.get("attempt")}
    return Outcome(Event.MEDIA_EJECTED, detail={"left-in": str(fault)}, marks=done)


def eject_media(driver: BMCDriver, work: Work) -> Outcome:
    """Take the image out of an installed node's virtual CD, so that it boots its disk
    whatever its boot order. Never fails the node: the image chains to the boot service,
    which answers a provisioned node with a boot from its disk, so a drive left loaded
    does no harm; why it could not be ejected is in the outcome's detail."""
    try:
        driver.eject_media()
    except Exception as exc:  # said, never fatal (see above)
        return left_in(work.marks, exc)
    return Outcome(Event.MEDIA_EJECTED, marks={**work.marks, "ejected": work.marks.get("attempt")})


def power_on(driver: BMCDriver, work: Work) -> Outcome:
    """Power on (or reset a running machine) into the network boot ``prepare_boot`` set,
    once ``work.pace`` lets the call go (the rack's stagger). The attempt opens right
    before the call, in one write (unless one is open already: a power-on repeated after
    a restart): from then on an open attempt says the machine may be on by Strata's
    doing (``prepare_boot``), and the marks saying so go with the node's next record."""
    marks = dict(work.marks)
    work.pace()
    if work.called_off():  # e.g. put in maintenance while it waited for its rack
        raise CalledOff(f"{work.plan.name}: its power-on was called off")
    if not marks.get("attempt"):
        marks["attempt"] = work.store.begin_attempt(work.plan.name, work.attempt_lifetime).number
    marks["powered"] = marks["attempt"]
    marks.pop(MAY_RESET, None)  # the person's word covers this power-on, not a later one
    driver.power(PowerAction.RESET if marks.get("running") else PowerAction.ON)
    detail = {
        "attempt": marks["attempt"],
        "power": "reset" if marks.get("running") else "on",
        "method": method_of(work.plan, marks),  # the road it takes
        **({"skipped": marks["skipped"]} if marks.get("skipped") else {}),  # and why not others
    }
    return Outcome(Event.POWERED_ON, detail=detail, marks=marks)


def power_off(driver: BMCDriver, work: Work) -> Outcome:
    driver.power(PowerAction.OFF)
    return Outcome(Event.POWERED_OFF)


BMC_ACTIONS: dict[Action, Callable[[BMCDriver, Work], Outcome]] = {
    Action.CHECK_BMC: check_bmc,
    Action.INSPECT: inspect,
    Action.PREPARE_BOOT: prepare_boot,
    Action.POWER_ON: power_on,
    Action.POWER_OFF: power_off,
    Action.EJECT_MEDIA: eject_media,
}


def resume_action(state: State, marks: Mapping[str, Any]) -> Action:
    """What a node found resting in ``state`` goes on with (``RESUME``): in provisioning,
    a node whose boot device is set for its attempt and which was not yet powered on for
    it goes straight to its power-on."""
    action = RESUME.get(state, Action.NONE)
    attempt = marks.get("attempt")
    if (
        action is Action.PREPARE_BOOT
        and attempt is not None
        and marks.get("prepared") == attempt
        and marks.get("powered") != attempt
    ):
        return Action.POWER_ON
    return action
