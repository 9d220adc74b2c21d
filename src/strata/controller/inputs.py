"""What the world tells the controller, and what the controller tells back.

Inputs: the event log's entries from the boot service and from people, as lifecycle
events; the reasons a phase's timeout or a machine's report gives a failed node.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from strata.controller.actions import VIRTUAL_MEDIA, method_of
from strata.controller.lifecycle import Event, State
from strata.controller.tracked import Tracked
from strata.plan import NodePlan
from strata.provisioning import LogKind
from strata.store import LogEntry, Store

__all__ = [
    "ADOPT_REQUESTED",
    "BOOT_EVENTS",
    "CLUSTER_EVENTS",
    "CLUSTER_NEWS",
    "READS",
    "REQUESTS",
    "RETRY_REQUESTED",
    "TIMEOUT_REASONS",
    "log_reader",
    "next_method",
    "on_deadline",
    "reason_for",
    "timeout_reason",
]

BOOT_EVENTS: dict[str, Event] = {  # log entries from the boot service -> lifecycle events
    LogKind.IPXE_FETCHED: Event.IPXE_FETCHED,
    LogKind.IGNITION_FETCHED: Event.IGNITION_FETCHED,
    LogKind.INSTALLED: Event.INSTALLED,
    LogKind.FIRST_BOOT: Event.FIRST_BOOT,
    LogKind.ARTIFACT_MISSING: Event.ARTIFACT_MISSING,
    LogKind.ROOT_DEVICE_NOT_FOUND: Event.ROOT_DEVICE_NOT_FOUND,
    LogKind.ROOT_DEVICE_AMBIGUOUS: Event.ROOT_DEVICE_AMBIGUOUS,
}
CLUSTER_EVENTS: dict[str, Event] = {  # log entries from a layer's watch of Nodes
    LogKind.NODE_READY: Event.NODE_READY,
}
# what a layer's watch of Nodes writes besides a node's Ready (a lifecycle event)
CLUSTER_NEWS = frozenset({LogKind.NODE_REGISTERED, LogKind.API_ANSWERED, LogKind.API_UNREACHABLE})
RETRY_REQUESTED = LogKind.RETRY_REQUESTED  # `strata retry` while a controller runs
ADOPT_REQUESTED = LogKind.ADOPT_REQUESTED  # `strata adopt` while a controller runs
REQUESTS: dict[str, Event] = {  # `strata retry`, `adopt`, `maintenance` while a controller runs
    RETRY_REQUESTED: Event.RETRY,
    ADOPT_REQUESTED: Event.ADOPT,
    LogKind.MAINTENANCE_ON_REQUESTED: Event.MAINTENANCE_ON,
    LogKind.MAINTENANCE_OFF_REQUESTED: Event.MAINTENANCE_OFF,
}
# every kind of log entry the controller acts on: not its own records' entries
READS = frozenset({*BOOT_EVENTS, *CLUSTER_EVENTS, *CLUSTER_NEWS, *REQUESTS})
TIMEOUT_REASONS = {
    State.REGISTERING: "the BMC gave no answer in {t:g} s",
    State.INSPECTING: "inspection did not finish in {t:g} s",
    State.PROVISIONING: "boot device and power-on did not finish in {t:g} s",
    State.BOOTING: "the machine fetched no Ignition config within {t:g} s of power-on"
    " (check its network boot: DHCP, PXE, the boot service URL)",
    State.INSTALLING: "the installer did not report the OS written within {t:g} s",
    State.JOINING: "its Node was not Ready in its layer's cluster within {t:g} s",
    State.DEPROVISIONING: "power-off did not finish in {t:g} s",
}
VIRTUAL_MEDIA_BOOT = (  # what to check instead, for a node booted from its virtual media
    " (check its network boot: DHCP, PXE, the boot service URL)",
    " (check its virtual media boot: the BMC's virtual CD and its one-time CD boot, DHCP on "
    "the machine's network, the boot service URL; its console shows iPXE's attempts)",
)


def on_deadline(
    t: Tracked, seconds: float, join_seen: Callable[[Tracked], str]
) -> tuple[Event, str]:
    """What a phase that lasted its ``seconds`` feeds, and why: ``fallback`` when booting
    took too long and the node has another boot method to try, else ``timeout``."""
    reason = timeout_reason(t.state, seconds, method_of(t.plan, t.marks))
    if t.state is State.JOINING:
        reason += f"; {join_seen(t)}"
    if t.last_error:
        reason += f"; last error: {t.last_error}"
    after = next_method(t.plan, t.marks)
    if t.state is State.BOOTING and after is not None:
        return Event.FALLBACK, f"{reason}; trying boot method {after} next"
    return Event.TIMEOUT, reason


def next_method(plan: NodePlan, marks: Mapping[str, Any]) -> str | None:
    """The boot method after the one this install took, if the node lists one."""
    index = int(marks.get("method", 0)) + 1
    return plan.boot_methods[index] if index < len(plan.boot_methods) else None


def timeout_reason(state: State, seconds: float, boot_method: str) -> str:
    """Why a node failed when ``state`` lasted ``seconds``, with what to check for its
    boot method (``TIMEOUT_REASONS``)."""
    text = TIMEOUT_REASONS[state].format(t=seconds)
    return text.replace(*VIRTUAL_MEDIA_BOOT) if boot_method == VIRTUAL_MEDIA else text


FAILURE_REASONS = {  # a machine's report that fails its node, in words a person can act on
    Event.ARTIFACT_MISSING: "the machine asked for {file}, which is not in the artifact mirror "
    "(import it: strata artifacts import; then strata retry)",
    Event.ROOT_DEVICE_NOT_FOUND: "no disk on the machine matches its rootDeviceHints; nothing "
    "was installed (its console lists every disk and the hint it failed: correct the hints, "
    "then strata retry)",
    Event.ROOT_DEVICE_AMBIGUOUS: "more than one disk on the machine matches its "
    "rootDeviceHints; nothing was installed (narrow the hints, e.g. with serialNumber, then "
    "strata retry)",
}


def reason_for(event: Event, detail: Mapping[str, Any]) -> str | None:
    """Why a boot event fails a node (None: it does not)."""
    text = FAILURE_REASONS.get(event)
    return text.format(file=detail.get("file")) if text is not None else None


def log_reader(
    store: Store,
    observe_lag: Callable[[str, float], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> Callable[[int], list[LogEntry]]:
    """How the controller reads the log after a position: only the kinds it acts on
    (``READS``: its own state changes are not read back); ``observe_lag`` is told
    ("event", seconds since it was written) of each entry read, but of those written
    before the first read (while no controller ran, or read again after a restart: no
    loop was late)."""
    since: float | None = None

    def read(after: int) -> list[LogEntry]:
        nonlocal since
        now = clock()
        since = now if since is None else since
        entries = store.events_since(after, kinds=READS)
        if observe_lag is not None:
            for entry in (e for e in entries if e.at >= since):
                observe_lag("event", max(0.0, now - entry.at))
        return entries

    return read
