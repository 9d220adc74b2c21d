"""The node lifecycle: one table of (state, event) -> (next state, action), in the spirit
of Ironic's states.py and Metal3's provisioning states.

    declared -> registering -> inspecting -> ready -> provisioning -> booting
             -> installing -> provisioned -> joining -> joined
    plus failed (with the step and reason), deprovisioning, maintenance, and
    found-running: at first contact, or right before its power-on, its BMC said it was
    on, and Strata had not powered it on for an install in progress (a lost or restored
    state, or a server someone else installed). It is never
    power-cycled from there without consent: ``adopt`` takes it as provisioned without
    touching it (Ironic's adoption, Metal3's externally provisioned hosts); consent to
    reinstall (``--allow-reprovision``) sends it on to inspection and install.

The controller feeds events (from BMC calls, from the boot service's phone-home,
from the cluster's API, from timers and from people) and runs the action the
table names. Every action is idempotent, so replaying an event after a crash
repeats at most an action that is safe to repeat. A provisioned or joined node
is reinstalled only through ``reprovision``, which the controller sends only
with the person's consent (``--allow-reprovision``).

Maintenance (``strata maintenance on|off``; Ironic's maintenance mode, Metal3's
detached host): hands off. Any open attempt ends (the machine is served no config), no
BMC action starts and no timeout runs. Taken out, a node that rested returns to where
it was (``after_maintenance``): declared, ready, provisioned, joined — one that was
waiting for its join goes back to provisioned; one taken mid-phase (BMC, inspection,
install) starts again from registration, its BMC checked and its inventory read again,
and a machine found on there waits for consent as any machine Strata did not power on.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAINTENANCE_FROM",
    "RESUME",
    "STOPPED",
    "TABLE",
    "WRITE_BEHIND",
    "Action",
    "Event",
    "IllegalEvent",
    "State",
    "Transition",
    "after_maintenance",
    "next_step",
]


class State(enum.StrEnum):
    DECLARED = "declared"  # in topology.yaml, nothing done yet
    REGISTERING = "registering"  # reaching its BMC, checking credentials
    INSPECTING = "inspecting"  # reading inventory, comparing it with topology.yaml
    READY = "ready"  # known good, nothing installed by Strata
    PROVISIONING = "provisioning"  # boot device set, powering on into the installer
    BOOTING = "booting"  # waiting for iPXE and the installer's Ignition fetch
    INSTALLING = "installing"  # the installer writes the OS to disk
    PROVISIONED = "provisioned"  # installed, boots from disk
    JOINING = "joining"  # waiting for its Node to be Ready in its layer's cluster
    JOINED = "joined"  # Ready in its Kubernetes cluster
    FAILED = "failed"  # stopped at a step, with a reason; `strata retry` resumes
    DEPROVISIONING = "deprovisioning"  # powering off a node removed from the file
    MAINTENANCE = "maintenance"  # hands off: a person is working on it
    FOUND_RUNNING = "found-running"  # on, and not by Strata's doing: adopt or reinstall?


class Event(enum.StrEnum):
    START = "start"  # the controller takes a declared node
    BMC_OK = "bmc-ok"  # the BMC answered with these credentials
    FOUND_RUNNING = "found-running"  # ... and said a server Strata never installed is on
    ADOPT = "adopt"  # `strata adopt NODE`: take it as provisioned, touch nothing
    INSPECTION_PASSED = "inspection-passed"
    INSPECTION_FAILED = "inspection-failed"
    PROVISION = "provision"  # the plan says create
    REPROVISION = "reprovision"  # the plan says reinstall and the person consented
    BOOT_PREPARED = "boot-prepared"  # an attempt open, its one-time network boot set
    POWERED_ON = "powered-on"  # powered on (or reset) into that network boot
    IPXE_FETCHED = "ipxe-fetched"  # from the boot service
    IGNITION_FETCHED = "ignition-fetched"
    INSTALLED = "installed"  # phone-home from the installer
    FIRST_BOOT = "first-boot"  # phone-home from the installed system
    ARTIFACT_MISSING = "artifact-missing"  # the machine asked for a file the mirror lacks
    ROOT_DEVICE_NOT_FOUND = "root-device-not-found"  # no disk matches its hints: not installed
    ROOT_DEVICE_AMBIGUOUS = "root-device-ambiguous"  # several disks match them: not installed
    JOIN = "join"  # the run's target is joined: watch for the node in its layer's cluster
    NODE_READY = "node-ready"  # from the cluster's API (the layer's watch of Nodes)
    TIMEOUT = "timeout"  # the phase took longer than its limit
    FALLBACK = "fallback"  # booting took too long: the next of its boot methods is tried
    BMC_FAILED = "bmc-failed"  # a permanent BMC fault (transient ones are retried below)
    BMC_FALLBACK = "bmc-fallback"  # a BMC action failed: it goes again through bmc.fallback
    RETRY = "retry"  # `strata retry NODE`
    DEPROVISION = "deprovision"  # removed from the file, with --prune
    POWERED_OFF = "powered-off"
    MEDIA_EJECTED = "media-ejected"  # its virtual media taken out, once it was installed
    MAINTENANCE_ON = "maintenance-on"
    MAINTENANCE_OFF = "maintenance-off"


class Action(enum.StrEnum):
    NONE = "none"
    CHECK_BMC = "check-bmc"  # read the power state: proves address and credentials; at
    # first contact a server found on is held (found-running) before any power action
    INSPECT = "inspect"  # read inventory, compare with topology.yaml
    PREPARE_BOOT = "prepare-boot"  # open a boot attempt (its tokens), set a one-time network boot
    POWER_ON = "power-on"  # power on, or reset with consent, when the rack's budget allows
    AWAIT_BOOT = "await-boot"  # wait for phone-home, with the phase's timeout
    BOOT_FROM_DISK = "boot-from-disk"  # end the attempt: from now on the node boots its disk
    AWAIT_JOIN = "await-join"  # the layer's watch of Nodes reports it, with the phase's timeout
    RECORD_FAILURE = "record-failure"  # keep the step and the reason; end any attempt
    POWER_OFF = "power-off"
    EJECT_MEDIA = "eject-media"  # installed from virtual media: take the image out
    FALL_BACK = "fall-back"  # end the attempt, prepare the boot again with the next method
    HANDS_OFF = "hands-off"  # maintenance: end any open attempt (its tokens die), touch nothing


@dataclass(frozen=True, slots=True)
class Transition:
    next: State
    action: Action


class IllegalEvent(Exception):
    """An event that means nothing in the node's state: recorded, never acted on."""


S, E, A, T = State, Event, Action, Transition

# fmt: off
TABLE: dict[tuple[State, Event], Transition] = {
    (S.DECLARED,       E.START):             T(S.REGISTERING,    A.CHECK_BMC),
    (S.REGISTERING,    E.BMC_OK):            T(S.INSPECTING,     A.INSPECT),
    (S.REGISTERING,    E.FOUND_RUNNING):     T(S.FOUND_RUNNING,  A.NONE),
    (S.FOUND_RUNNING,  E.ADOPT):             T(S.PROVISIONED,    A.NONE),
    (S.FOUND_RUNNING,  E.REPROVISION):       T(S.INSPECTING,     A.INSPECT),
    (S.INSPECTING,     E.INSPECTION_PASSED): T(S.READY,          A.NONE),
    (S.INSPECTING,     E.INSPECTION_FAILED): T(S.FAILED,         A.RECORD_FAILURE),
    (S.READY,          E.PROVISION):         T(S.PROVISIONING,   A.PREPARE_BOOT),
    (S.PROVISIONING,   E.BOOT_PREPARED):     T(S.PROVISIONING,   A.POWER_ON),
    (S.PROVISIONING,   E.POWERED_ON):        T(S.BOOTING,        A.AWAIT_BOOT),
    (S.PROVISIONING,   E.FOUND_RUNNING):     T(S.FOUND_RUNNING,  A.RECORD_FAILURE),  # ends its attempt
    (S.BOOTING,        E.IPXE_FETCHED):      T(S.BOOTING,        A.NONE),
    (S.BOOTING,        E.IGNITION_FETCHED):  T(S.INSTALLING,     A.AWAIT_BOOT),
    (S.INSTALLING,     E.IGNITION_FETCHED):  T(S.INSTALLING,     A.NONE),  # coreos-installer's fetch
    (S.INSTALLING,     E.INSTALLED):         T(S.PROVISIONED,    A.BOOT_FROM_DISK),
    (S.BOOTING,        E.FALLBACK):          T(S.PROVISIONING,   A.FALL_BACK),
    (S.BOOTING,        E.ARTIFACT_MISSING):  T(S.FAILED,         A.RECORD_FAILURE),
    (S.INSTALLING,     E.ARTIFACT_MISSING):  T(S.FAILED,         A.RECORD_FAILURE),
    (S.INSTALLING,     E.ROOT_DEVICE_NOT_FOUND): T(S.FAILED,     A.RECORD_FAILURE),
    (S.INSTALLING,     E.ROOT_DEVICE_AMBIGUOUS): T(S.FAILED,     A.RECORD_FAILURE),
    (S.PROVISIONED,    E.FIRST_BOOT):        T(S.PROVISIONED,    A.NONE),
    (S.PROVISIONED,    E.JOIN):              T(S.JOINING,        A.AWAIT_JOIN),
    (S.PROVISIONED,    E.NODE_READY):        T(S.JOINED,         A.NONE),
    (S.JOINING,        E.FIRST_BOOT):        T(S.JOINING,        A.NONE),
    (S.JOINING,        E.NODE_READY):        T(S.JOINED,         A.NONE),
    (S.PROVISIONED,    E.REPROVISION):       T(S.PROVISIONING,   A.PREPARE_BOOT),
    (S.JOINING,        E.REPROVISION):       T(S.PROVISIONING,   A.PREPARE_BOOT),
    (S.JOINED,         E.REPROVISION):       T(S.PROVISIONING,   A.PREPARE_BOOT),
    (S.FAILED,         E.RETRY):             T(S.REGISTERING,    A.CHECK_BMC),
    (S.PROVISIONED,    E.DEPROVISION):       T(S.DEPROVISIONING, A.POWER_OFF),
    (S.JOINING,        E.DEPROVISION):       T(S.DEPROVISIONING, A.POWER_OFF),
    (S.JOINED,         E.DEPROVISION):       T(S.DEPROVISIONING, A.POWER_OFF),
    (S.READY,          E.DEPROVISION):       T(S.DEPROVISIONING, A.POWER_OFF),
    (S.DEPROVISIONING, E.POWERED_OFF):       T(S.DECLARED,       A.NONE),
    (S.MAINTENANCE,    E.MAINTENANCE_OFF):   T(S.REGISTERING,    A.CHECK_BMC),
}
# fmt: on

# Every phase that waits on the outside world can time out or lose its BMC; every state
# but maintenance itself can be put in maintenance.
_WAITING = (
    S.REGISTERING,
    S.INSPECTING,
    S.PROVISIONING,
    S.BOOTING,
    S.INSTALLING,
    S.JOINING,
    S.DEPROVISIONING,
)
for _state in _WAITING:
    TABLE[(_state, E.TIMEOUT)] = T(S.FAILED, A.RECORD_FAILURE)
    TABLE[(_state, E.BMC_FAILED)] = T(S.FAILED, A.RECORD_FAILURE)
# A BMC action that failed through the node's first BMC goes again, from the start of
# its phase, through its fallback BMC (``actions.bmc_fallback``): a step inside the phase.
for _state, _action in (
    (S.REGISTERING, A.CHECK_BMC),
    (S.INSPECTING, A.INSPECT),
    (S.PROVISIONING, A.PREPARE_BOOT),  # the boot device too is set through the fallback
    (S.DEPROVISIONING, A.POWER_OFF),
):
    TABLE[(_state, E.BMC_FALLBACK)] = T(_state, _action)
for _state in State:
    if _state is not S.MAINTENANCE:
        TABLE[(_state, E.MAINTENANCE_ON)] = T(S.MAINTENANCE, A.HANDS_OFF)

# States a node stops in until a person acts (retry, adopt, maintenance off); their
# record keeps the step it stopped at and why (a failure, the BMC's word that it is on,
# the person's note).
STOPPED = frozenset({S.FAILED, S.FOUND_RUNNING, S.MAINTENANCE})

# The mark that keeps the state a node was put in maintenance from (``marks_after``), and
# where maintenance-off takes it from there: a node at rest back to its state, with no
# action (the plan moves it on; provisioned: its attempt ended and its virtual media
# ejected, as a restart does), an installed one awaiting its join to provisioned
# (joined again when the run's target is joined); any other goes the table's way, from
# registration. Read through ``next_step(..., marks)``.
MAINTENANCE_FROM = "maintenance-from"
_RETURNS: dict[str, State] = {
    S.DECLARED: S.DECLARED,
    S.READY: S.READY,
    S.PROVISIONED: S.PROVISIONED,
}
_RETURNS |= {S.JOINING: S.PROVISIONED, S.JOINED: S.JOINED}


# What a node found resting in a state goes on with, when no transition just named it (a
# controller restarted, or a record another writer changed was read again). Every action
# is idempotent, so repeating the one in flight when the controller stopped is safe; a
# phase with steps of its own (provisioning) refines this from the node's marks.
RESUME: dict[State, Action] = {
    S.REGISTERING: A.CHECK_BMC,
    S.INSPECTING: A.INSPECT,
    S.PROVISIONING: A.PREPARE_BOOT,
    S.BOOTING: A.AWAIT_BOOT,
    S.INSTALLING: A.AWAIT_BOOT,
    S.PROVISIONED: A.BOOT_FROM_DISK,  # a stop between its record and its attempt's end
    S.JOINING: A.AWAIT_JOIN,
    S.FAILED: A.RECORD_FAILURE,
    S.FOUND_RUNNING: A.RECORD_FAILURE,
    S.DEPROVISIONING: A.POWER_OFF,
}


# Transitions whose record need not be on disk before what follows (``writes.Writes``:
# it is written with the node's next record), because a restart that finds the node in
# the state before does the same again, touching nothing twice:
# - registering -> inspecting: found registering (or declared), it checks its BMC again,
#   then inspects — reads only;
# - provisioning -> booting: found provisioning with its power-on marked for its open
#   attempt (``actions.power_on`` writes the mark before the power-on), prepare-boot finds
#   it on and goes on to booting without a second power-on; the boot events it waits
#   for then move it with a record that does not wait (an iPXE fetch moves nothing).
# Not the first step of a retry or of a consented reinstall: their record is the
# person's word, which a restart must find.
WRITE_BEHIND: frozenset[tuple[State, Event]] = frozenset(
    {(S.REGISTERING, E.BMC_OK), (S.PROVISIONING, E.POWERED_ON)}
)


def next_step(state: State, event: Event, marks: Mapping[str, Any] | None = None) -> Transition:
    """The table's transition for ``event`` in ``state``; maintenance-off reads where the
    node came from in its ``marks`` (``after_maintenance``). ``IllegalEvent`` when the
    table has none."""
    if (state, event) == (S.MAINTENANCE, E.MAINTENANCE_OFF):
        return after_maintenance((marks or {}).get(MAINTENANCE_FROM))
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise IllegalEvent(f"{event} means nothing to a node that is {state}") from None


def after_maintenance(came_from: str | None) -> Transition:
    """Where maintenance-off takes a node put in maintenance from ``came_from`` (a state's
    value; None or unknown: the table's road, from registration)."""
    back = _RETURNS.get(came_from) if came_from is not None else None
    if back is None:
        return TABLE[(S.MAINTENANCE, E.MAINTENANCE_OFF)]
    # provisioned: as a restart resumes it (its attempt ended, its virtual media ejected)
    return T(back, A.BOOT_FROM_DISK if back is S.PROVISIONED else A.NONE)
