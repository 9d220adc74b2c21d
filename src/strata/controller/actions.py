"""The lifecycle's BMC actions, each run on a worker thread and each safe to repeat.

An action returns an ``Outcome`` (the event to feed back into the lifecycle) or
raises ``BMCError``; the reconciler decides what a fault means (retry a
transient one, fail the node on a permanent one). ``start_install`` notes in the
node's marks what it has done before it does the next thing, so a controller
killed half-way through resumes without a second power-on of the same attempt.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strata.bmc import (
    BMCDriver,
    BootDevice,
    BootMode,
    Capability,
    NotSupported,
    PowerAction,
    PowerState,
)
from strata.bmc.inspection import inspect_node
from strata.controller.lifecycle import Event
from strata.plan import NodePlan
from strata.store import Store
from strata.topology import Node

__all__ = ["BOOT_DEVICES", "Outcome", "check_bmc", "inspect", "power_off", "start_install"]

BOOT_DEVICES = {"pxe": BootDevice.PXE, "ipxe": BootDevice.PXE, "http": BootDevice.HTTP}


@dataclass(frozen=True, slots=True)
class Outcome:
    event: Event
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    marks: Mapping[str, Any] | None = None  # the node's marks after the action, if changed


def check_bmc(driver: BMCDriver) -> Outcome:
    """Reading the power state proves the address and the credentials."""
    return Outcome(Event.BMC_OK, detail={"power": str(driver.power_state())})


def inspect(driver: BMCDriver, node: Node) -> Outcome:
    """Compare the BMC's inventory with topology.yaml: a wrong cable or a missing disk
    stops the node here, before anything is written to a disk."""
    if Capability.INVENTORY not in driver.capabilities:
        return Outcome(Event.INSPECTION_PASSED, detail={"notes": ["the BMC offers no inventory"]})
    found = inspect_node(node, driver.inventory())
    if not found.ok:
        return Outcome(Event.INSPECTION_FAILED, reason="; ".join(found.mismatches))
    return Outcome(Event.INSPECTION_PASSED, detail={"notes": list(found.notes)})


def start_install(
    driver: BMCDriver, plan: NodePlan, marks: Mapping[str, Any], store: Store, lifetime: float
) -> Outcome:
    """Open a provisioning attempt, set a one-time network boot, power on (or reset).

    Marks make it idempotent: ``attempt`` names the attempt this node installs with,
    ``powered`` the attempt it was already powered on for.
    """
    marks = dict(marks)
    attempt = store.attempt(plan.name)
    if attempt is None or attempt.expires < time.time() or marks.get("attempt") != attempt.number:
        attempt = store.begin_attempt(plan.name, lifetime)
        marks = {"attempt": attempt.number}
        store.set_marks(plan.name, marks)
    detail: dict[str, Any] = {"attempt": attempt.number}
    if marks.get("powered") == attempt.number and driver.power_state() is PowerState.ON:
        return Outcome(Event.POWERED_ON, detail={**detail, "resumed": True}, marks=marks)
    device = BOOT_DEVICES.get(plan.boot_method)
    if device is None:
        raise NotSupported(
            plan.name,
            plan.bmc_address,
            f"boot method {plan.boot_method}: Strata cannot build per-node install media yet",
            hint="use boot.method ipxe, pxe or http",
        )
    mode = BootMode.UEFI if plan.firmware == "uefi" else BootMode.LEGACY
    driver.set_boot_device(device, mode)
    running = driver.power_state() is PowerState.ON
    marks["powered"] = attempt.number
    store.set_marks(plan.name, marks)  # before the power-on: a restart must not repeat it
    driver.power(PowerAction.RESET if running else PowerAction.ON)
    detail["power"] = "reset" if running else "on"
    return Outcome(Event.POWERED_ON, detail=detail, marks=marks)


def power_off(driver: BMCDriver) -> Outcome:
    driver.power(PowerAction.OFF)
    return Outcome(Event.POWERED_OFF)
