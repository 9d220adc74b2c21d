"""Redfish driver: a small adapter over sushy.

sushy models the Redfish resources; this module picks the node's system,
maps Strata's verbs onto Redfish actions and waits for their effect, and
translates every sushy and requests exception into Strata's own BMC errors
(see ``redfish_errors``). Nothing outside ``strata.bmc`` imports sushy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sushy
from sushy import exceptions as sushy_exc
from sushy.auth import SessionOrBasicAuth

from strata.bmc.base import GuardedDriver
from strata.bmc.errors import BMCFault, NotSupported, TimedOut
from strata.bmc.redfish_errors import translated
from strata.bmc.redfish_inventory import read_inventory
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
# Redfish ComputerSystem.Reset action, ResetType values (DSP0268, ResetType enum).
_RESET = {
    PowerAction.ON: sushy.RESET_TYPE_ON,
    PowerAction.OFF: sushy.RESET_TYPE_FORCE_OFF,
    PowerAction.GRACEFUL_OFF: sushy.RESET_TYPE_GRACEFUL_SHUTDOWN,
    PowerAction.RESET: sushy.RESET_TYPE_FORCE_RESTART,
    PowerAction.CYCLE: sushy.RESET_TYPE_POWER_CYCLE,
}
# Boot.BootSourceOverrideTarget values (DSP0268, ComputerSystem.BootSource).
_TARGET = {
    BootDevice.PXE: sushy.BOOT_SOURCE_TARGET_PXE,
    BootDevice.HTTP: sushy.BOOT_SOURCE_TARGET_UEFI_HTTP,
    BootDevice.CD: sushy.BOOT_SOURCE_TARGET_CD,
    BootDevice.DISK: sushy.BOOT_SOURCE_TARGET_HDD,
}
_MODE = {BootMode.UEFI: sushy.BOOT_SOURCE_MODE_UEFI, BootMode.LEGACY: sushy.BOOT_SOURCE_MODE_BIOS}


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
        self._run("insert virtual media", lambda: self._insert(url))

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
        if t.insecure:
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
        state = self._read_power(system)
        want = action.settles_at
        if action in (PowerAction.ON, PowerAction.OFF, PowerAction.GRACEFUL_OFF) and state == want:
            return state  # already there: nothing to do
        if state == PowerState.OFF and action in (PowerAction.RESET, PowerAction.CYCLE):
            action = PowerAction.ON  # restarting a machine that is off means starting it
        allowed = system.get_allowed_reset_system_values()
        if action == PowerAction.CYCLE and allowed and _RESET[action] not in allowed:
            self._reset(system, PowerAction.OFF, allowed)
            self._settle(system, PowerState.OFF)
            action = PowerAction.ON
        self._reset(system, action, allowed)
        return self._settle(system, want)

    def _reset(self, system: Any, action: PowerAction, allowed: set[Any]) -> None:
        if allowed and _RESET[action] not in allowed:
            offered = ", ".join(sorted(str(v.value) for v in allowed))
            raise NotSupported(
                self.target.node, self.target.address, f"power {action}", hint=f"offers: {offered}"
            )
        system.reset_system(_RESET[action])

    def _settle(self, system: Any, want: PowerState) -> PowerState:
        s = self._settings
        deadline = time.monotonic() + s.power_timeout
        while True:
            system.refresh(force=True)
            state = self._read_power(system)
            if state == want:
                return state
            if time.monotonic() + s.poll_interval > deadline:
                raise TimedOut(
                    self.target.node,
                    self.target.address,
                    f"power did not reach {want} within {s.power_timeout:g} s (last: {state})",
                )
            time.sleep(s.poll_interval)

    def _boot(self, device: BootDevice, mode: BootMode, persistent: bool) -> None:
        system = self._sys()
        if device == BootDevice.HTTP and mode == BootMode.LEGACY:
            raise NotSupported(self.target.node, self.target.address, "HTTP boot needs UEFI")
        allowed = system.get_allowed_system_boot_source_values()
        if allowed and _TARGET[device] not in allowed:
            offered = ", ".join(sorted(str(v.value) for v in allowed))
            raise NotSupported(
                self.target.node,
                self.target.address,
                f"boot device {device}",
                hint=f"offers: {offered}",
            )
        enabled = (
            sushy.BOOT_SOURCE_ENABLED_CONTINUOUS if persistent else sushy.BOOT_SOURCE_ENABLED_ONCE
        )
        # Name the mode only when it changes: some BMCs refuse a PATCH that repeats it
        # (Ironic, redfish management interface, "set_boot_device").
        new_mode = _MODE[mode] if system.boot.mode != _MODE[mode] else None
        system.set_system_boot_options(_TARGET[device], enabled=enabled, mode=new_mode)

    def _cd(self) -> Any:
        """The virtual CD: on the System (newer layout) or on its Manager (older one)."""
        for collection in _media_collections(self._sys()):
            for device in collection.get_members():
                if {sushy.VIRTUAL_MEDIA_CD, sushy.VIRTUAL_MEDIA_DVD} & set(
                    device.media_types or ()
                ):
                    return device
        raise NotSupported(self.target.node, self.target.address, "no virtual CD or DVD drive")

    def _insert(self, url: str) -> None:
        device = self._cd()
        if device.inserted and device.image == url:
            return
        if device.inserted:
            device.eject_media()
        device.insert_media(url, inserted=True, write_protected=True)

    def _eject(self) -> None:
        device = self._cd()
        if device.inserted:
            device.eject_media()


def _media_collections(system: Any) -> Iterator[Any]:
    """VirtualMedia collections: the System's own first, then its Managers'."""
    readers: tuple[Callable[[], list[Any]], ...] = (
        lambda: [system.virtual_media],
        lambda: [manager.virtual_media for manager in system.managers],
    )
    for read in readers:
        try:
            found = read()
        except (sushy_exc.MissingAttributeError, sushy_exc.ResourceNotFoundError):
            continue
        yield from found
