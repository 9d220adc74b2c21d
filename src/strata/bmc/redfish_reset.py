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

Read as sushy reads it (``ResetActionField.get_allowed_values`` and
``System.get_allowed_reset_system_values``), so that what is chosen is what sushy will
send: the annotation, made a list as sushy makes it (a string is its characters), when
it lists something; else the ActionInfo (when the action names one and it can be read:
its ``ResetType`` parameter's values); nothing listed, null or empty is every value.
An ActionInfo with ``Parameters: null`` makes sushy refuse every value, so is refused
here too. Values are case-sensitive, and only those sushy knows can be sent.
Pure: the advertised values in, the requests out.
"""

from __future__ import annotations

from dataclasses import dataclass

import sushy

from strata.bmc.types import PowerAction, PowerState

__all__ = ["KNOWN", "Advertised", "Unoffered", "advertised", "info_uri", "plan", "settles_at"]

KEY = "ResetType@Redfish.AllowableValues"
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
SENDABLE = frozenset(t.value for t in sushy.ResetType)  # what sushy can send and checks
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


def _as_list(value: object) -> list[object]:
    """An AllowableValues value as sushy's ``list`` adapter makes it (null: empty)."""
    if value is None:
        return []
    if isinstance(value, list | str | dict):
        return list(value)
    return [value]  # sushy does not load such a System at all


@dataclass(frozen=True, slots=True)
class Advertised:
    """The ``ResetType`` values a BMC advertises: ``written`` as the BMC wrote them (the
    annotation or the ActionInfo parameter's); ``refused`` when sushy takes none."""

    written: object = None
    refused: bool = False

    @property
    def offered(self) -> frozenset[str] | None:
        """What sushy will send; ``None``: every value (nothing listed)."""
        if self.refused:
            return frozenset()
        values = _as_list(self.written)
        if not values:
            return None
        return frozenset(v for v in SENDABLE if v in values)

    @property
    def malformed(self) -> tuple[str, ...]:
        """Listed values that are no DSP0268 ResetType (as written: case counts)."""
        if not isinstance(self.written, list):
            return ()
        return tuple(
            v if isinstance(v, str) else repr(v)
            for v in self.written
            if not (isinstance(v, str) and v in KNOWN)
        )

    def __str__(self) -> str:
        offered = self.offered
        if self.refused:
            return "unreadable (its ActionInfo has Parameters: null)"
        if offered:
            return ", ".join(sorted(offered))
        if not isinstance(self.written, list):
            return f"{self.written!r}, not a list (sushy takes none of it)"
        listed = ", ".join(repr(v) for v in self.written)
        return f"{listed} (none a ResetType sushy sends; they are case-sensitive)"


@dataclass(frozen=True, slots=True)
class Plan:
    """The ResetType values to send in order; ``fallback`` when not the action's first
    choice (to be said)."""

    steps: tuple[str, ...]
    fallback: bool = False


class Unoffered(Exception):
    """The BMC offers no ResetType that carries out the action."""

    def __init__(self, action: PowerAction, seen: Advertised) -> None:
        self.action, self.seen = action, seen
        what = "graceful shutdown" if action == PowerAction.GRACEFUL_OFF else f"way to {action}"
        super().__init__(f"the BMC offers no {what}: its ResetType values are {seen}")


def info_uri(action: object) -> str | None:
    """The ActionInfo a ``#ComputerSystem.Reset`` action names, when sushy reads it: the
    action's annotation lists nothing (absent, null or empty)."""
    if not isinstance(action, dict) or _as_list(action.get(KEY)):
        return None
    uri = action.get("@Redfish.ActionInfo")
    return uri if isinstance(uri, str) and uri else None


def advertised(action: object, action_info: object = None) -> Advertised:
    """The values of a ``#ComputerSystem.Reset`` action object: its annotation when it
    lists any, else those of ``action_info`` (the JSON of the ActionInfo ``info_uri``
    names, ``None`` when there is none or it cannot be read)."""
    if not isinstance(action, dict):
        return Advertised()
    if info_uri(action) is None or not isinstance(action_info, dict):
        return Advertised(action.get(KEY))
    parameters = action_info.get("Parameters", [])
    if parameters is None:
        return Advertised(refused=True)  # sushy fails on it (TypeError) at every reset
    readable = isinstance(parameters, list) and all(
        isinstance(p, dict) and isinstance(p.get("AllowableValues"), list | str | dict | None)
        for p in parameters
    )
    if not readable:  # sushy cannot read this ActionInfo: every value
        return Advertised()
    found = [p.get("AllowableValues") for p in parameters if p.get("Name") == "ResetType"]
    return Advertised(found[0] if found else None)


def plan(action: PowerAction, seen: Advertised) -> Plan:
    """How to carry out ``action`` with what the BMC advertises. Raises ``Unoffered``."""
    offered = seen.offered
    for index, way in enumerate(_WAYS[action]):
        if offered is None or all(step in offered for step in way):
            return Plan(way, fallback=index > 0)
    raise Unoffered(action, seen)


def settles_at(step: str) -> PowerState:
    """The power state a ResetType value leads to."""
    return _SETTLES.get(step, PowerState.ON)
