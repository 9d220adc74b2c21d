"""What a person asks of nodes — retry a failed one, adopt one found running, put one in
maintenance or take it out — made through the lifecycle table, never around it.

When a controller holds the datacenter, the request goes into the event log and that
controller feeds it to the node (the log is the one way in, so the controller's view
and the store never disagree). When none runs, the records are written here, all or
nothing, with the same table, and the next ``strata apply`` goes on from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strata.controller.actions import marks_after
from strata.controller.inputs import REQUESTS
from strata.controller.lifecycle import TABLE, Action, Event, IllegalEvent, State, next_step
from strata.errors import StrataError
from strata.store import NodeRecord, RecordWrite, Store

__all__ = ["MAX_REASON", "RequestRefused", "Requested", "request"]

MAX_REASON = 500  # characters of a person's note (shown by status, the web face)

_LOG_ENTRY = {event: entry for entry, event in REQUESTS.items()}


class RequestRefused(StrataError):
    """Some node cannot take the request (unknown, or in a state the table gives no such
    step from); nothing was changed. ``problems``: one line per such node."""

    kind = "request-refused"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Requested:
    nodes: tuple[str, ...]
    controller: str | None  # the running controller that was asked; None: records written


def request(
    store: Store,
    nodes: Sequence[str],
    event: Event,
    running: str | None = None,
    reason: str | None = None,
) -> Requested:
    """Send ``event`` (``Event.RETRY``, ``ADOPT``, ``MAINTENANCE_ON`` or
    ``MAINTENANCE_OFF``) to ``nodes``; ``reason``: a person's note (printable, at most
    ``MAX_REASON`` characters), kept as the reason of a node put in maintenance
    (``strata status`` shows it).

    ``running``: the controller known to drive the nodes though it holds no store writer
    lease (in a cluster, the replicas holding the shard leases); None: the store's
    writer lease says whether one runs.

    Raises ``RequestRefused`` when any node is unknown or cannot take the event, and
    ``Conflict`` when a record moved on while this ran; in both cases nothing changed."""
    if reason is not None and not (reason.isprintable() and 0 < len(reason) <= MAX_REASON):
        raise RequestRefused([f"a reason is 1 to {MAX_REASON} printable characters"])
    records = store.records()
    problems = [f"{n}: no such node" for n in nodes if n not in records]
    problems += [_refused(records[n], event) for n in nodes if n in records]
    if any(problems):
        raise RequestRefused([p for p in problems if p])
    writer = store.writer()
    controller = running or (writer[0] if writer is not None else None)
    if controller is not None:
        for name in nodes:
            store.record(name, _LOG_ENTRY[event], {"reason": reason} if reason else {})
        return Requested(tuple(nodes), controller)
    store.write_records([_written(records[n], event, reason) for n in nodes])
    return Requested(tuple(nodes), None)


def _refused(record: NodeRecord, event: Event) -> str:
    """Why ``record``'s node cannot take ``event`` (empty: it can)."""
    try:
        next_step(State(record.state), event, record.marks)
    except IllegalEvent:
        if event is Event.MAINTENANCE_ON:
            return f"{record.name}: already in maintenance"
        allowed = " or ".join(s for s, e in TABLE if e is event)
        return f"{record.name}: {record.state}, not {allowed}"
    return ""


def _written(record: NodeRecord, event: Event, reason: str | None) -> RecordWrite:
    """The record ``event`` leaves, as the controller would write it: maintenance keeps
    where the node stopped and why, and ends its open attempt (``Action.HANDS_OFF``)."""
    before = State(record.state)
    step = next_step(before, event, record.marks)
    info: dict[str, str] = {"from": record.state, "to": step.next.value, "event": event.value}
    stopped = step.next is State.MAINTENANCE
    if stopped:
        info["reason"] = reason or event.value
    return RecordWrite(  # no deadline: the next apply starts the phase's clock
        record.name,
        record.version,
        step.next.value,
        record.state if stopped else None,
        info.get("reason"),
        marks=marks_after(event, record.marks, before),
        event=("state", info),
        end_attempt=False if step.action is Action.HANDS_OFF else None,
    )
