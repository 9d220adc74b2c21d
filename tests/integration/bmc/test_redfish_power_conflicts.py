"""Power actions are idempotent: transitions are waited out, "already in that state" is
success once the state read back agrees, and any other refusal shows the BMC's own
extended message. Served by real HTTP servers (tests/support/redfish_quirks.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from strata.bmc import BMCFault, PowerAction, PowerState, TimedOut
from strata.bmc.types import BMCDriver
from tests.integration.bmc.conftest import FAST, driver
from tests.support.redfish_emulator import USERNAME
from tests.support.redfish_mock import RedfishMock
from tests.support.redfish_quirks import (
    ALREADY_OFF,
    ALREADY_ON,
    IN_STANDBY,
    OTHER_CONFLICT,
    WORDS_ALREADY_ON,
    extended_error,
    lagging,
    powering_on,
    refusing_resets,
)
from tests.support.redfish_vendors import VENDORS

DELL = VENDORS["dell-idrac9"]
RESET = f"{DELL.system}/Actions/ComputerSystem.Reset"
# Long enough for any transition here on a loaded machine; no test asserts a duration.
PATIENT = dataclasses.replace(FAST, power_timeout=30.0, operation_timeout=90.0)
CONFLICT = extended_error(
    {"MessageId": "Base.1.8.PropertyValueConflict", "Message": "PowerState conflicts."}
)


@pytest.fixture
def serve(password: str) -> Iterator[Callable[..., tuple[RedfishMock, BMCDriver]]]:
    started: list[RedfishMock] = []

    def start(build: Callable[..., RedfishMock], *args: Any) -> tuple[RedfishMock, BMCDriver]:
        mock = build(DELL, USERNAME, password, *args)
        started.append(mock)
        address = f"redfish+http://127.0.0.1:{mock.port}{DELL.system}"
        return mock, driver(address, password, node="node-p", settings=PATIENT)

    yield start
    for mock in started:
        mock.stop()


def resets(mock: RedfishMock) -> list[object]:
    return [r.body and r.body.get("ResetType") for r in mock.calls("POST", RESET)]


def test_on_while_powering_on_waits_and_succeeds(serve: Callable[..., Any]) -> None:
    mock, bmc = serve(powering_on, 1.0)
    assert bmc.power(PowerAction.ON) is PowerState.ON
    assert mock.get(DELL.system)["PowerState"] == "On"
    assert set(resets(mock)) <= {"On"}  # nothing, or a Reset On the BMC answered "already on"


def test_off_while_powering_on_waits_for_on_then_turns_it_off(serve: Callable[..., Any]) -> None:
    mock, bmc = serve(powering_on, 1.0)
    assert bmc.power(PowerAction.OFF) is PowerState.OFF
    assert resets(mock) == ["ForceOff"]  # sent once the transition was over, and accepted


@pytest.mark.parametrize(
    "answer", [ALREADY_ON, WORDS_ALREADY_ON, CONFLICT], ids=["psu501", "words", "conflict"]
)
def test_already_on_is_success(serve: Callable[..., Any], answer: dict[str, Any]) -> None:
    """The BMC's PowerState lags (reads Off) while the host is on: Reset On gets 409."""
    mock, bmc = serve(lagging, "On", answer)
    assert bmc.power(PowerAction.ON) is PowerState.ON
    assert resets(mock) == ["On"]


@pytest.mark.parametrize(
    "answer", [ALREADY_OFF, IN_STANDBY, CONFLICT], ids=["psu502", "standby", "conflict"]
)
@pytest.mark.parametrize("action", [PowerAction.OFF, PowerAction.GRACEFUL_OFF])
def test_already_off_is_success(
    serve: Callable[..., Any], answer: dict[str, Any], action: PowerAction
) -> None:
    mock, bmc = serve(lagging, "Off", answer)
    assert bmc.power(action) is PowerState.OFF
    assert len(resets(mock)) == 1


def test_a_conflict_for_another_reason_shows_the_bmcs_message(serve: Callable[..., Any]) -> None:
    mock, bmc = serve(refusing_resets, 409, OTHER_CONFLICT)
    with pytest.raises(BMCFault) as caught:
        bmc.power(PowerAction.ON)
    text = str(caught.value)
    assert "node node-p" in text and "HTTP 409" in text
    assert "The chassis power budget does not allow another server to start." in text
    assert "[Contoso.1.0.PowerBudgetExceeded]" in text
    assert caught.value.hint == "Raise the chassis power cap or power off another server."
    assert not caught.value.transient and resets(mock) == ["On"]


def test_already_on_is_not_believed_when_the_power_state_says_off(
    serve: Callable[..., Any],
) -> None:
    mock, bmc = serve(refusing_resets, 409, ALREADY_ON)  # PowerState stays Off
    with pytest.raises(BMCFault, match=r"Server is already powered ON\. \[IDRAC\.1\.6\.PSU501\]"):
        bmc.power(PowerAction.ON)
    assert mock.get(DELL.system)["PowerState"] == "Off"


def test_a_restart_is_never_already_done(serve: Callable[..., Any]) -> None:
    mock, bmc = serve(refusing_resets, 409, ALREADY_ON)
    mock.update(DELL.system, {"PowerState": "On"})
    with pytest.raises(BMCFault, match="Server is already powered ON"):
        bmc.power(PowerAction.RESET)
    assert resets(mock) == ["ForceRestart"]


def test_a_transition_that_never_ends_times_out(password: str) -> None:
    mock = powering_on(DELL, USERNAME, password, 3600.0)
    try:
        bmc = driver(f"redfish+http://127.0.0.1:{mock.port}{DELL.system}", password)
        with pytest.raises(TimedOut) as caught:
            bmc.power(PowerAction.OFF)
    finally:
        mock.stop()
    assert f"did not settle within {FAST.power_timeout:g} s (last: powering-on)" in str(
        caught.value
    )
    assert resets(mock) == []  # nothing is sent to a system in transition
