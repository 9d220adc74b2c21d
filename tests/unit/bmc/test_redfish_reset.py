"""The ResetType values each power action is carried out with, on the ResetType lists
real BMCs advertise (iDRAC 9 5.10, iLO 5 2.55, Supermicro X13, Cisco CIMC 4.1)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from sushy.resources.common import ResetActionField
from sushy.resources.system.system import System

from strata.bmc.redfish_reset import KEY, Advertised, Plan, Unoffered, advertised, plan
from strata.bmc.types import PowerAction

IDRAC = ["On", "ForceOff", "ForceRestart", "GracefulRestart", "GracefulShutdown"]
IDRAC += ["PushPowerButton", "Nmi", "PowerCycle"]
ILO_255 = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi", "PushPowerButton"]
ILO_255 += ["GracefulRestart"]
X13 = ["On", "ForceOff", "GracefulShutdownGracefulRestart", "ForceRestart", "Nmi", "ForceOn"]


def offered(values: object) -> Advertised:
    return advertised({KEY: values})


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
    assert plan(PowerAction.CYCLE, Advertised()) == Plan(("PowerCycle",))


def test_no_graceful_shutdown_is_refused_naming_what_is_offered() -> None:
    with pytest.raises(Unoffered) as caught:
        plan(PowerAction.GRACEFUL_OFF, offered(X13))
    assert str(caught.value) == (
        "the BMC offers no graceful shutdown: its ResetType values are "
        "ForceOff, ForceOn, ForceRestart, Nmi, On"
    )


def test_a_cycle_with_neither_restart_nor_off_and_on_is_refused() -> None:
    with pytest.raises(Unoffered, match=r"no way to cycle: its ResetType values are On$"):
        plan(PowerAction.CYCLE, offered(["On"]))


def test_malformed_values_are_set_apart() -> None:
    seen = offered([*X13, None, {"x": 1}])
    assert seen.offered == frozenset({"On", "ForceOff", "ForceRestart", "Nmi", "ForceOn"})
    assert seen.malformed == ("GracefulShutdownGracefulRestart", "None", "{'x': 1}")


INFO = {
    "Parameters": [
        {"Name": "Other", "AllowableValues": ["x"]},
        {"Name": "ResetType", "AllowableValues": ["On", "ForceOff"]},
    ]
}


def test_values_from_the_annotation_else_the_action_info() -> None:
    named = {"@Redfish.ActionInfo": "/x"}
    assert advertised({KEY: ["On"], **named}, INFO).offered == {"On"}
    assert advertised(named, INFO).offered == {"On", "ForceOff"}
    assert advertised({KEY: None, **named}, INFO).offered == {"On", "ForceOff"}
    assert advertised({KEY: [], **named}, INFO).offered == {"On", "ForceOff"}
    assert advertised({"target": "/x"}).offered is None
    assert advertised({KEY: []}).offered is None
    assert advertised(None, {"Parameters": [{"Name": "ResetType"}]}).offered is None


def test_a_string_or_lower_case_values_are_refused_naming_them() -> None:
    with pytest.raises(Unoffered, match=r"values are 'PowerCycle', not a list"):
        plan(PowerAction.CYCLE, offered("PowerCycle"))
    with pytest.raises(Unoffered, match=r"values are 'on', 'powercycle' \(none a ResetType"):
        plan(PowerAction.CYCLE, offered(["on", "powercycle"]))


def _sushy_accepts(action: dict[str, Any], info: object) -> frozenset[str]:
    """What sushy's own reading (``System.get_allowed_reset_system_values``) takes, the
    ActionInfo served by a fake connection; an error there takes nothing."""
    answer = mock.Mock(headers={}, content=b"{}")
    answer.json.return_value = info
    system = mock.Mock(_conn=mock.Mock(get=mock.Mock(return_value=answer)), identity="1")
    system.redfish_version, system.registries, system.root = "1.11.0", None, None
    reset = ResetActionField("Reset")._load({"Reset": {"target": "/t", **action}}, system)
    system._get_reset_action_element = lambda: reset
    try:
        return frozenset(t.value for t in System.get_allowed_reset_system_values(system))
    except TypeError:
        return frozenset()


_NAMED = {"@Redfish.ActionInfo": "/info"}
_INFOS: list[object] = [
    INFO,
    {"Parameters": [{"Name": "ResetType", "AllowableValues": []}]},
    {"Parameters": [{"Name": "ResetType", "AllowableValues": None}]},
    {"Parameters": [{"Name": "ResetType", "AllowableValues": "On"}]},
    {"Parameters": [{"Name": "ResetType", "AllowableValues": 5}]},
    {"Parameters": [{"Name": "ResetType", "AllowableValues": ["on", "PowerCycle"]}]},
    {"Parameters": ["ResetType"]},
    {"Parameters": {"Name": "ResetType"}},
    {"Parameters": None},
    {"Parameters": []},
    {},
]
_ACTIONS: list[dict[str, Any]] = [
    {},
    {KEY: None},
    {KEY: []},
    {KEY: ""},
    {KEY: "PowerCycle"},
    {KEY: ["on", "forceoff"]},
    {KEY: X13},
    {KEY: ["FullPowerCycle"]},
    {KEY: {"On": 1}},
]


@pytest.mark.parametrize("info", _INFOS)
@pytest.mark.parametrize("action", [*_ACTIONS, *({**a, **_NAMED} for a in _ACTIONS)])
def test_the_values_are_those_sushy_accepts(action: dict[str, Any], info: object) -> None:
    """Whatever the shape, Strata offers exactly what sushy will send."""
    seen = advertised(action, info if "@Redfish.ActionInfo" in action else None)
    every = frozenset(t for t in _sushy_accepts({}, None))
    assert (seen.offered if seen.offered is not None else every) == _sushy_accepts(action, info)
