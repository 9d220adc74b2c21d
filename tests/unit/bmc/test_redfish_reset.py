"""The ResetType values each power action is carried out with, on the ResetType lists
real BMCs advertise (iDRAC 9 5.10, iLO 5 2.55, Supermicro X13, Cisco CIMC 4.1)."""

from __future__ import annotations

import pytest

from strata.bmc.redfish_reset import Plan, Unoffered, advertised, plan, split
from strata.bmc.types import PowerAction

IDRAC = ["On", "ForceOff", "ForceRestart", "GracefulRestart", "GracefulShutdown"]
IDRAC += ["PushPowerButton", "Nmi", "PowerCycle"]
ILO_255 = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi", "PushPowerButton"]
ILO_255 += ["GracefulRestart"]
X13 = ["On", "ForceOff", "GracefulShutdownGracefulRestart", "ForceRestart", "Nmi", "ForceOn"]


def offered(values: list[object]) -> frozenset[str]:
    return split(values)[0]


@pytest.mark.parametrize(
    ("values", "action", "steps", "fallback"),
    [
        (IDRAC, PowerAction.CYCLE, ("PowerCycle",), False),
        (ILO_255, PowerAction.CYCLE, ("ForceRestart",), True),
        (X13, PowerAction.CYCLE, ("ForceRestart",), True),
        (["On", "ForceOff"], PowerAction.CYCLE, ("ForceOff", "On"), True),
        (["On", "ForceOff", "PowerCycle"], PowerAction.RESET, ("PowerCycle",), True),
        (ILO_255, PowerAction.GRACEFUL_OFF, ("GracefulShutdown",), False),
        (X13, PowerAction.ON, ("On",), False),
        (["ForceOn", "ForceOff"], PowerAction.ON, ("ForceOn",), True),
        (X13, PowerAction.OFF, ("ForceOff",), False),
    ],
)
def test_the_best_way_the_bmc_offers(
    values: list[object], action: PowerAction, steps: tuple[str, ...], fallback: bool
) -> None:
    assert plan(action, offered(values)) == Plan(steps, fallback)


def test_nothing_advertised_means_the_first_choice() -> None:
    assert plan(PowerAction.CYCLE, None) == Plan(("PowerCycle",))


def test_no_graceful_shutdown_is_refused_naming_what_is_offered() -> None:
    with pytest.raises(Unoffered) as caught:
        plan(PowerAction.GRACEFUL_OFF, offered(X13))
    assert str(caught.value) == (
        "the BMC offers no graceful shutdown: its ResetType values are "
        "ForceOff, ForceOn, ForceRestart, Nmi, On"
    )


def test_a_cycle_with_neither_restart_nor_off_and_on_is_refused() -> None:
    with pytest.raises(Unoffered, match=r"no way to cycle: its ResetType values are On$"):
        plan(PowerAction.CYCLE, frozenset({"On"}))


def test_malformed_values_are_set_apart() -> None:
    assert split([*X13, None, {"x": 1}]) == (
        frozenset({"On", "ForceOff", "ForceRestart", "Nmi", "ForceOn"}),
        ("GracefulShutdownGracefulRestart", "None", "{'x': 1}"),
    )


def test_values_from_the_annotation_else_the_action_info() -> None:
    info = {
        "Parameters": [
            {"Name": "Other", "AllowableValues": ["x"]},
            {"Name": "ResetType", "AllowableValues": ["On", "ForceOff"]},
        ]
    }
    assert advertised({"ResetType@Redfish.AllowableValues": ["On"]}, info) == ["On"]
    assert advertised({"@Redfish.ActionInfo": "/x"}, info) == ["On", "ForceOff"]
    assert advertised({"target": "/x"}) is None
    assert advertised(None, {"Parameters": [{"Name": "ResetType"}]}) is None
