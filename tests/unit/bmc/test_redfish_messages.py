"""A Redfish error's own words (DSP0266, "Error responses"), and "already in that state"."""

from __future__ import annotations

from typing import Any

import pytest

from strata.bmc.redfish_messages import describe, extended, resolutions, says_already
from strata.bmc.types import PowerState

GENERAL = "A general error has occurred. See ExtendedInfo for more information"


def error(*infos: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": "Base.1.2.GeneralError",
        "message": GENERAL,
        "@Message.ExtendedInfo": list(infos),
    }


IDRAC_ON = {
    "MessageId": "IDRAC.1.6.PSU501",
    "Message": "Server is already powered ON.",
    "Resolution": "No response action is required.",
    "Severity": "Informational",
}
ILO_STATE = {
    "MessageID": "iLO.0.10.InvalidOperationForSystemState",
    "MessageArgs": ["Power is off"],
}


def test_every_extended_message_is_shown_with_its_id() -> None:
    two = error(IDRAC_ON, {"MessageId": "Base.1.8.Other", "Message": "And this."})
    assert (
        describe(two)
        == "Server is already powered ON. [IDRAC.1.6.PSU501]; And this. [Base.1.8.Other]"
    )


def test_an_id_without_text_shows_its_arguments() -> None:
    assert describe(error(ILO_STATE)) == "Power is off [iLO.0.10.InvalidOperationForSystemState]"


def test_without_extended_info_the_outer_message_and_code() -> None:
    assert describe({"code": "Base.1.0.GeneralError", "message": "crashed"}) == (
        "crashed [Base.1.0.GeneralError]"
    )
    assert describe(None) == describe({}) == "no message"


def test_extended_info_as_one_object_and_with_junk() -> None:
    assert [m.key for m in extended({"MessageId": "Base.1.8.NoOperation"})] == ["NoOperation"]
    assert extended(["junk", 3, None]) == ()


def test_resolutions_worth_a_hint() -> None:
    assert resolutions(error(IDRAC_ON)) is None  # "No response action is required."
    hinted = {"MessageId": "X.1.0.Y", "Resolution": "Retry later."}
    assert resolutions(error(hinted, hinted)) == "Retry later."


@pytest.mark.parametrize(
    ("info", "want", "expected"),
    [
        (IDRAC_ON, PowerState.ON, True),
        (IDRAC_ON, PowerState.OFF, False),
        ({"MessageId": "IDRAC.2.8.PSU502"}, PowerState.OFF, True),
        ({"MessageId": "Base.1.8.ResourceInStandby"}, PowerState.OFF, True),
        ({"MessageId": "Base.1.8.ResourceInStandby"}, PowerState.ON, False),
        ({"MessageId": "Base.1.15.PropertyValueConflict"}, PowerState.ON, True),
        ({"MessageId": "Contoso.1.0.X", "Message": "The host is already on."}, PowerState.ON, True),
        (
            {"MessageId": "Contoso.1.0.X", "Message": "The host is already on."},
            PowerState.OFF,
            False,
        ),
        ({"MessageId": "Base.1.8.ResourceInUse"}, PowerState.ON, False),
    ],
)
def test_says_already(info: dict[str, Any], want: PowerState, expected: bool) -> None:
    assert says_already(error(info), want) is expected


def test_never_already_restarted() -> None:
    assert not says_already(error(IDRAC_ON), PowerState.UNKNOWN)
