"""The lifecycle table: the road from declared to joined, and what must never happen on it."""

from __future__ import annotations

import pytest

from strata.controller import TABLE, Action, Event, IllegalEvent, State, next_step
from strata.controller.actions import MAY_RESET, marks_after
from strata.controller.lifecycle import MAINTENANCE_FROM


def walk(start: State, events: list[Event]) -> list[tuple[State, Action]]:
    state, out = start, []
    for event in events:
        step = next_step(state, event)
        state = step.next
        out.append((state, step.action))
    return out


def test_from_declared_to_joined() -> None:
    road = walk(
        State.DECLARED,
        [
            Event.START,
            Event.BMC_OK,
            Event.INSPECTION_PASSED,
            Event.PROVISION,
            Event.BOOT_PREPARED,
            Event.POWERED_ON,
            Event.IPXE_FETCHED,
            Event.IGNITION_FETCHED,
            Event.IGNITION_FETCHED,
            Event.INSTALLED,
            Event.FIRST_BOOT,
            Event.JOIN,
            Event.NODE_READY,
        ],
    )
    assert road == [
        (State.REGISTERING, Action.CHECK_BMC),
        (State.INSPECTING, Action.INSPECT),
        (State.READY, Action.NONE),
        (State.PROVISIONING, Action.PREPARE_BOOT),
        (State.PROVISIONING, Action.POWER_ON),
        (State.BOOTING, Action.AWAIT_BOOT),
        (State.BOOTING, Action.NONE),
        (State.INSTALLING, Action.AWAIT_BOOT),
        (State.INSTALLING, Action.NONE),
        (State.PROVISIONED, Action.BOOT_FROM_DISK),
        (State.PROVISIONED, Action.NONE),
        (State.JOINING, Action.AWAIT_JOIN),
        (State.JOINED, Action.NONE),
    ]


def test_a_provisioned_or_joined_node_is_touched_only_with_consent() -> None:
    """Only reprovision (sent with --allow-reprovision) or deprovision (with --prune) may
    install or power off a node that is provisioned or joined."""
    for (state, event), step in TABLE.items():
        if state in (State.PROVISIONED, State.JOINING, State.JOINED) and step.action in (
            Action.PREPARE_BOOT,
            Action.POWER_ON,
            Action.POWER_OFF,
        ):
            assert event in (Event.REPROVISION, Event.DEPROVISION), (state, event)
    with pytest.raises(IllegalEvent):
        next_step(State.JOINED, Event.PROVISION)
    with pytest.raises(IllegalEvent):
        next_step(State.PROVISIONED, Event.TIMEOUT)


def test_every_state_is_reachable_and_none_is_a_trap() -> None:
    reachable, frontier = {State.DECLARED}, [State.DECLARED]
    while frontier:
        state = frontier.pop()
        for (source, _), step in TABLE.items():
            if source is state and step.next not in reachable:
                reachable.add(step.next)
                frontier.append(step.next)
    assert reachable == set(State)
    for state in State:
        assert any(s is state and t.next is not state for (s, _), t in TABLE.items()), state


def test_a_phase_that_times_out_fails_and_a_retry_starts_over() -> None:
    assert walk(State.BOOTING, [Event.TIMEOUT, Event.RETRY]) == [
        (State.FAILED, Action.RECORD_FAILURE),
        (State.REGISTERING, Action.CHECK_BMC),
    ]
    assert next_step(State.INSPECTING, Event.INSPECTION_FAILED).next is State.FAILED


def test_maintenance_from_anywhere_hands_off() -> None:
    for state in State:
        if state is not State.MAINTENANCE:
            step = next_step(state, Event.MAINTENANCE_ON)
            assert (step.next, step.action) == (State.MAINTENANCE, Action.HANDS_OFF)
    with pytest.raises(IllegalEvent):
        next_step(State.MAINTENANCE, Event.MAINTENANCE_ON)
    with pytest.raises(IllegalEvent):
        next_step(State.MAINTENANCE, Event.PROVISION)
    with pytest.raises(IllegalEvent):
        next_step(State.JOINED, Event.MAINTENANCE_OFF)


@pytest.mark.parametrize(
    ("came_from", "back"),
    [
        (State.DECLARED, (State.DECLARED, Action.NONE)),
        (State.READY, (State.READY, Action.NONE)),
        (State.PROVISIONED, (State.PROVISIONED, Action.BOOT_FROM_DISK)),  # its media ejected
        (State.JOINING, (State.PROVISIONED, Action.BOOT_FROM_DISK)),  # joined again by the plan
        (State.JOINED, (State.JOINED, Action.NONE)),
        (State.BOOTING, (State.REGISTERING, Action.CHECK_BMC)),  # an install cut short
        (State.INSTALLING, (State.REGISTERING, Action.CHECK_BMC)),
        (State.FAILED, (State.REGISTERING, Action.CHECK_BMC)),
        (State.FOUND_RUNNING, (State.REGISTERING, Action.CHECK_BMC)),
        (None, (State.REGISTERING, Action.CHECK_BMC)),  # a record written before the mark
    ],
)
def test_out_of_maintenance_back_where_it_rested_else_through_registration(
    came_from: State | None, back: tuple[State, Action]
) -> None:
    marks = {MAINTENANCE_FROM: came_from} if came_from is not None else {}
    step = next_step(State.MAINTENANCE, Event.MAINTENANCE_OFF, marks)
    assert (step.next, step.action) == back


def test_maintenance_keeps_where_it_came_from_and_leaving_drops_consent() -> None:
    marks = {MAY_RESET: True, "attempt": 3}
    inside = marks_after(Event.MAINTENANCE_ON, marks, State.INSTALLING)
    assert inside == {**marks, MAINTENANCE_FROM: "installing"}
    assert marks_after(Event.MAINTENANCE_OFF, inside, State.MAINTENANCE) == {"attempt": 3}


def test_an_illegal_event_says_what_and_where() -> None:
    with pytest.raises(IllegalEvent, match="installed means nothing to a node that is ready"):
        next_step(State.READY, Event.INSTALLED)
