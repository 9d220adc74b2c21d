"""Redfish driver: a small adapter over sushy.

sushy models the Redfish resources; this module picks the node's system,
maps Strata's verbs onto Redfish actions and waits for their effect, and
translates every sushy and requests exception into Strata's own BMC errors
(see ``redfish_errors``). Nothing outside ``strata.bmc`` imports sushy.

Power actions are idempotent: a transitional ``PoweringOn``/``PoweringOff``
(DSP0268, ComputerSystem.PowerState) is waited out before anything is decided,
asking for the state the system is in sends nothing, and a reset the BMC refuses
because the system already is in that state (``redfish_messages.says_already``,
confirmed by reading the state back) is success. A boot override PATCH carries
only the ``Boot`` properties the system has, with allowed values (``redfish_patch``).
A power action is carried out with the ResetType values the BMC offers
(``redfish_reset``): a cycle without ``PowerCycle`` is a ``ForceRestart`` or an
off-then-on, said in the log; a graceful off without ``GracefulShutdown`` is refused.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sushy
from sushy import exceptions as sushy_exc
from sushy.auth import SessionOrBasicAuth
from sushy.resources.common import ActionInfo

from strata.bmc import redfish_media, redfish_reset
from strata.bmc.base import GuardedDriver
from strata.bmc.errors import BMCFault, NotSupported, TimedOut
from strata.bmc.redfish_errors import translated
from strata.bmc.redfish_inventory import read_inventory
from strata.bmc.redfish_messages import says_already
from strata.bmc.redfish_patch import Refused, Want, patch_body
from strata.bmc.types import (
    BootDevice,
    BootMode,
    Capability,
    Inventory,
    PowerAction,
    PowerState,
)

__all__ = ["RedfishDriver"]

T = TypeVar("T")
log = logging.getLogger("strata.bmc")
_warned_insecure: set[str] = set()
_warned_lock = threading.Lock()

_POWER = {
    sushy.POWER_STATE_ON: PowerState.ON,
    sushy.POWER_STATE_OFF: PowerState.OFF,
    sushy.POWER_STATE_POWERING_ON: PowerState.POWERING_ON,
    sushy.POWER_STATE_POWERING_OFF: PowerState.POWERING_OFF,
}
# Boot.BootSourceOverrideTarget values (DSP0268, ComputerSystem.BootSource).
_TARGET = {
    BootDevice.PXE: sushy.BOOT_SOURCE_TARGET_PXE,
    BootDevice.HTTP: sushy.BOOT_SOURCE_TARGET_UEFI_HTTP,
    BootDevice.CD: sushy.BOOT_SOURCE_TARGET_CD,
    BootDevice.DISK: sushy.BOOT_SOURCE_TARGET_HDD,
}
_MODE = {BootMode.UEFI: sushy.BOOT_SOURCE_MODE_UEFI, BootMode.LEGACY: sushy.BOOT_SOURCE_MODE_BIOS}
# Boot properties (DSP0268, ComputerSystem.Boot) and how sushy's ``system.boot`` names them.
_BOOT_FIELDS = {
    "BootSourceOverrideTarget": "target",
    "BootSourceOverrideEnabled": "enabled",
    "BootSourceOverrideMode": "mode",
    "BootSourceOverrideTarget@Redfish.AllowableValues": "allowed_values",
}
_HEADING_TO = {PowerState.POWERING_ON: PowerState.ON, PowerState.POWERING_OFF: PowerState.OFF}
_IDEMPOTENT = (PowerAction.ON, PowerAction.OFF, PowerAction.GRACEFUL_OFF)
# ResetType values a BMC may refuse as "already in that state" (success once it reads so).
_ALREADY_ANSWERABLE = ("On", "ForceOn", "ForceOff", "GracefulShutdown")


class RedfishDriver(GuardedDriver):
    capabilities = frozenset(Capability)

    _root: Any = None  # the sushy service root, connected on first use
    _system: Any = None  # the node's ComputerSystem

    # -- the interface -------------------------------------------------

    def power_state(self) -> PowerState:
        return self._run("power state", lambda: self._read_power(self._sys()))

    def power(self, action: PowerAction) -> PowerState:
        return self._run(f"power {action}", lambda: self._power(action))

    def set_boot_device(
        self, device: BootDevice, mode: BootMode = BootMode.UEFI, *, persistent: bool = False
    ) -> None:
        self._run(f"boot device {device}", lambda: self._boot(device, mode, persistent))

    def insert_media(self, url: str) -> None:
        """Load ``url`` into the virtual CD; its query (a media token) never appears in
        an error, even one whose BMC message echoes the URL."""
        operation, query = "insert virtual media", url.partition("?")[2]
        tokens = [v for _, _, v in (p.partition("=") for p in query.split("&")) if v]
        hidden = (self._credentials.password.reveal(), *tokens)
        self._guard.run(
            operation,
            lambda: translated(self.target, operation, hidden, lambda: self._insert(url)),
        )

    def eject_media(self) -> None:
        self._run("eject virtual media", self._eject)

    def inventory(self) -> Inventory:
        return self._run("inventory", lambda: read_inventory(self._sys(), log, self.target))

    def close(self) -> None:
        root, self._root, self._system = self._root, None, None
        if root is not None:
            try:
                root.close()
            except Exception:  # closing is best effort: the session may be gone
                log.debug("bmc close failed node=%s bmc=%s", self.target.node, self.target.address)

    # -- the work ------------------------------------------------------

    def _translate(self, operation: str, call: Callable[[], T]) -> T:
        return translated(self.target, operation, (self._credentials.password.reveal(),), call)

    def _connect(self) -> Any:
        t, s = self.target, self._settings
        transport = "http" if t.protocol.endswith("+http") else "https"
        port = f":{t.port}" if t.port else ""
        host = f"[{t.host}]" if ":" in t.host else t.host
        verify: bool | str = t.ca_bundle or True
        if t.insecure and transport == "https":  # plain HTTP has no TLS to turn off
            verify = False
            with _warned_lock:
                if t.address not in _warned_insecure:
                    _warned_insecure.add(t.address)
                    log.warning(
                        "bmc tls verification disabled (insecure: true) node=%s bmc=%s",
                        t.node,
                        t.address,
                    )
        return sushy.Sushy(
            f"{transport}://{host}{port}",
            auth=SessionOrBasicAuth(
                username=self._credentials.username,
                password=self._credentials.password.reveal(),
            ),
            verify=verify,
            # One transport attempt and one immediate 5xx retry inside sushy; the
            # backoff between attempts is the Guard's (sushy sleeps 2-3 s otherwise).
            server_side_retries=1,
            server_side_retries_delay=0,
            read_timeout=s.read_timeout,
            connect_timeout=s.connect_timeout,
        )

    def _sys(self) -> Any:
        if self._system is not None:
            self._system.refresh(force=True)
            return self._system
        if self._root is None:
            self._root = self._connect()
        path = self.target.system
        if path is None:
            members = list(self._root.get_system_collection().members_identities)
            if len(members) != 1:
                raise BMCFault(
                    self.target.node,
                    self.target.address,
                    f"the BMC manages {len(members)} systems",
                    hint="name one in the address: …/redfish/v1/Systems/<id>",
                )
            path = members[0]
        self._system = self._root.get_system(path)
        return self._system

    def _read_power(self, system: Any) -> PowerState:
        return _POWER.get(system.power_state, PowerState.UNKNOWN)

    def _power(self, action: PowerAction) -> PowerState:
        system = self._sys()
        state = self._wait(system, lambda s: s not in _HEADING_TO, "did not settle")
        want = action.settles_at
        if action in _IDEMPOTENT and state == want:
            return state  # already there: nothing to do
        if state == PowerState.OFF and action in (PowerAction.RESET, PowerAction.CYCLE):
            action = PowerAction.ON  # restarting a machine that is off means starting it
        *first, last = self._plan(system, action)
        for step in first:  # ForceOff of an off-then-on
            self._reset(system, step)
            self._settle(system, redfish_reset.settles_at(step))
        self._reset(system, last)
        return self._settle(system, want)

    def _plan(self, system: Any, action: PowerAction) -> tuple[str, ...]:
        """The ResetType values for ``action`` among those the BMC offers
        (``redfish_reset``); a fallback is logged, an action it cannot do is
        ``NotSupported`` before anything is sent."""
        node, address = self.target.node, self.target.address
        seen = redfish_reset.advertised(_reset_action(system), _reset_action_info(system))
        for value in seen.malformed:
            log.warning(
                "bmc reset type ignored node=%s bmc=%s value=%r: not a DMTF ResetType",
                node,
                address,
                value,
            )
        try:
            chosen = redfish_reset.plan(action, seen)
        except redfish_reset.Unoffered as exc:
            raise NotSupported(node, address, f"power {action}: {exc}") from None
        if chosen.fallback:
            log.info(
                "bmc power %s as %s node=%s bmc=%s: the BMC offers no %s",
                action,
                " then ".join(chosen.steps),
                node,
                address,
                redfish_reset.plan(action, redfish_reset.Advertised()).steps[0],
            )
        return chosen.steps

    def _reset(self, system: Any, step: str) -> None:
        """POST ComputerSystem.Reset with ResetType ``step``; an answer "already in that
        state" to On/ForceOff/GracefulShutdown is success once the state read back agrees
        (DSP0268, ComputerSystem.Reset)."""
        try:
            system.reset_system(sushy.ResetType(step))
        except sushy_exc.HTTPError as exc:
            want = redfish_reset.settles_at(step)
            if step not in _ALREADY_ANSWERABLE or not says_already(exc.body, want):
                raise
            system.refresh(force=True)
            state = self._read_power(system)
            if want not in (state, _HEADING_TO.get(state)):
                raise  # the BMC says so, its PowerState does not: keep its error
            log.info(
                "bmc power already node=%s bmc=%s action=%s state=%s answer=%s",
                self.target.node,
                self.target.address,
                step,
                state,
                exc.code,
            )

    def _settle(self, system: Any, want: PowerState) -> PowerState:
        system.refresh(force=True)
        return self._wait(system, lambda state: state == want, f"did not reach {want}")

    def _wait(self, system: Any, done: Callable[[PowerState], bool], what: str) -> PowerState:
        """Poll the power state until ``done`` holds, for up to ``power_timeout`` s.
        Raises ``TimedOut`` naming the last state read."""
        s = self._settings
        deadline = time.monotonic() + s.power_timeout
        state = self._read_power(system)
        while not done(state):
            if time.monotonic() + s.poll_interval > deadline:
                raise TimedOut(
                    self.target.node,
                    self.target.address,
                    f"power {what} within {s.power_timeout:g} s (last: {state})",
                )
            time.sleep(s.poll_interval)
            system.refresh(force=True)
            state = self._read_power(system)
        return state

    def _boot(self, device: BootDevice, mode: BootMode, persistent: bool) -> None:
        """PATCH the boot override with only the Boot properties the system has: the
        target (required), once or continuous, and the mode when it changes (some BMCs
        refuse a PATCH that repeats it: Ironic's redfish management interface)."""
        node, address = self.target.node, self.target.address
        if device == BootDevice.HTTP and mode == BootMode.LEGACY:
            raise NotSupported(node, address, "HTTP boot needs UEFI")
        system = self._sys()
        boot = _boot_view(system)
        enabled = (
            sushy.BOOT_SOURCE_ENABLED_CONTINUOUS if persistent else sushy.BOOT_SOURCE_ENABLED_ONCE
        )
        wants = {
            "BootSourceOverrideTarget": Want(_TARGET[device].value, required=True),
            "BootSourceOverrideEnabled": Want(enabled.value),
        }
        if boot.get("BootSourceOverrideMode") != _MODE[mode].value:
            wants["BootSourceOverrideMode"] = Want(_MODE[mode].value)
        try:
            body, left_out = patch_body(boot, wants)
        except Refused as exc:
            raise NotSupported(
                node, address, f"boot device {device}: {exc}", hint=exc.offers
            ) from None
        for name in left_out:
            log.info(
                "bmc boot override without %s node=%s bmc=%s: not in Boot", name, node, address
            )
        system.set_system_boot_options(
            _TARGET[device],
            enabled=enabled if "BootSourceOverrideEnabled" in body else None,
            mode=_MODE[mode] if "BootSourceOverrideMode" in body else None,
        )

    def _cd(self) -> Any:
        try:
            return redfish_media.find_cd(self._sys())
        except redfish_media.NoDrive as exc:
            raise NotSupported(self.target.node, self.target.address, str(exc)) from None

    def _insert(self, url: str) -> None:
        try:
            redfish_media.insert(self._cd(), url)
        except (redfish_media.NoDrive, Refused) as exc:
            raise NotSupported(self.target.node, self.target.address, f"insert: {exc}") from None

    def _eject(self) -> None:
        try:
            redfish_media.eject(self._cd())
        except (redfish_media.NoDrive, Refused) as exc:
            raise NotSupported(self.target.node, self.target.address, f"eject: {exc}") from None


def _boot_view(system: Any) -> dict[str, Any]:
    """The system's ``Boot`` object, plus what sushy read from its ``@Redfish.Settings``
    resource for properties the system itself does not show."""
    view = dict(system.json.get("Boot") or {})
    parsed = system.boot
    for name, field in _BOOT_FIELDS.items():
        value = getattr(parsed, field, None) if parsed is not None else None
        if name not in view and value is not None:
            view[name] = value.value if isinstance(value, enum.Enum) else value
    return view


def _reset_action(system: Any) -> Any:
    """The system's ``#ComputerSystem.Reset`` action object, as the BMC wrote it."""
    actions = system.json.get("Actions")
    return actions.get("#ComputerSystem.Reset") if isinstance(actions, dict) else None


def _reset_action_info(system: Any) -> Any:
    """The ActionInfo the Reset action names, when sushy reads it: its AllowableValues
    list nothing (DSP0266, "Allowable values"); ``None`` when there is none or it cannot
    be read."""
    uri = redfish_reset.info_uri(_reset_action(system))
    if uri is None:
        return None
    info = ActionInfo.from_uri(system, uri)  # logs and answers None when unreadable
    return info.json if info is not None else None
