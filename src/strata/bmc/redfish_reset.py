"""Which ComputerSystem.Reset requests carry out a power action, given what the BMC offers.

DSP0268 (ComputerSystem, ``Reset`` action): a service lists the ``ResetType``
values it takes in ``ResetType@Redfish.AllowableValues`` on the action, or in the
``Parameters`` of the ``ActionInfo`` resource its ``@Redfish.ActionInfo`` names
(DSP0266, "Allowable values"). BMCs differ: iDRAC 9 and CIMC offer ``PowerCycle``,
iLO 5 (2.55) does not, Supermicro X13 offers neither ``PowerCycle`` nor
``GracefulShutdown`` and lists a value that is no ``ResetType`` at all
(``GracefulShutdownGracefulRestart``). So:

- ``on``: ``On``, else ``ForceOn``;
- ``off``: ``ForceOff``;
- ``graceful-off``: ``GracefulShutdown``, else refused, naming what is offered;
- ``cycle``: ``PowerCycle``, else ``ForceRestart``, else ``ForceOff`` then ``On``;
- ``reset``: ``ForceRestart``, else ``PowerCycle``, else ``ForceOff`` then ``On``.

A BMC that advertises nothing is taken to offer every value (sushy does the same).
Pure: the advertised values in, the requests out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from strata.bmc.types import PowerAction, PowerState

__all__ = ["KNOWN", "Unoffered", "advertised", "plan", "settles_at", "split"]

# DSP0268 ResetType enum (ComputerSystem schema, Resource.ResetType).
KNOWN = frozenset(
    {
        "On",
        "ForceOff",
        "GracefulShutdown",
        "GracefulRestart",
        "ForceRestart",
        "Nmi",
        "ForceOn",
        "PushPowerButton",
        "PowerCycle",
        "Suspend",
        "Pause",
        "Resume",
        "FullPowerCycle",
    }
)
_OFF_ON = ("ForceOff", "On")
# Per action: the ways to do it, best first; each a sequence of ResetType values.
_WAYS: dict[PowerAction, tuple[tuple[str, ...], ...]] = {
    PowerAction.ON: (("On",), ("ForceOn",)),
    PowerAction.OFF: (("ForceOff",),),
    PowerAction.GRACEFUL_OFF: (("GracefulShutdown",),),
    PowerAction.CYCLE: (("PowerCycle",), ("ForceRestart",), _OFF_ON),
    PowerAction.RESET: (("ForceRestart",), ("PowerCycle",), _OFF_ON),
}
_SETTLES = {"ForceOff": PowerState.OFF, "GracefulShutdown": PowerState.OFF}


@dataclass(frozen=True, slots=True)
class Plan:
    """The ResetType values to send in order; ``fallback`` when not the action's first
    choice (to be said)."""

    steps: tuple[str, ...]
    fallback: bool = False


class Unoffered(Exception):
    """The BMC offers no ResetType that carries out the action."""

    def __init__(self, action: PowerAction, offered: frozenset[str]) -> None:
        self.action, self.offered = action, offered
        what = "graceful shutdown" if action == PowerAction.GRACEFUL_OFF else f"way to {action}"
        listed = ", ".join(sorted(offered)) or "none"
        super().__init__(f"the BMC offers no {what}: its ResetType values are {listed}")


def advertised(action: object, action_info: object = None) -> list[object] | None:
    """The raw ``ResetType`` values of a ``#ComputerSystem.Reset`` action object (its
    annotation first, else its ActionInfo's ``Parameters``); ``None`` when neither
    lists any."""
    if isinstance(action, dict):
        values = action.get("ResetType@Redfish.AllowableValues")
        if isinstance(values, list):
            return values
    if isinstance(action_info, dict):
        for parameter in action_info.get("Parameters") or ():
            if isinstance(parameter, dict) and parameter.get("Name") == "ResetType":
                values = parameter.get("AllowableValues")
                return values if isinstance(values, list) else None
    return None


def split(values: Iterable[object]) -> tuple[frozenset[str], tuple[str, ...]]:
    """``(offered, malformed)``: the values that are DSP0268 ResetTypes, and the rest
    as text (to be logged and ignored)."""
    known = [v for v in values if isinstance(v, str) and v in KNOWN]
    malformed = tuple(v if isinstance(v, str) else repr(v) for v in values if v not in known)
    return frozenset(known), malformed


def plan(action: PowerAction, offered: frozenset[str] | None) -> Plan:
    """How to carry out ``action`` with ``offered`` (``None``: not advertised, all).
    Raises ``Unoffered``."""
    for index, way in enumerate(_WAYS[action]):
        if offered is None or all(step in offered for step in way):
            return Plan(way, fallback=index > 0)
    raise Unoffered(action, offered or frozenset())


def settles_at(step: str) -> PowerState:
    """The power state a ResetType value leads to."""
    return _SETTLES.get(step, PowerState.ON)
