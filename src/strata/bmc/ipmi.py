"""IPMI 2.0 (lanplus) driver: a small adapter over pyghmi.

pyghmi keeps module-level session state: a second ``Command`` to a BMC that
already has a live one in this process waits for it and can hang for
minutes (shared/TESTING.md). So a driver holds one session per BMC, reuses
it, and logs it out before it ever opens another; the pool in
``strata.bmc.pool`` keeps one driver per BMC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pyghmi import exceptions as pyghmi_exc
from pyghmi.ipmi import command as ipmi_command
from pyghmi.ipmi import fru as ipmi_fru

from strata.bmc import ipmi_boot, normal
from strata.bmc.base import GuardedDriver
from strata.bmc.errors import (
    AuthenticationFailed,
    BMCError,
    BMCFault,
    NotSupported,
    TimedOut,
    Unreachable,
    redact,
)
from strata.bmc.types import (
    BootDevice,
    BootMode,
    Capability,
    Inventory,
    NICInfo,
    PowerAction,
    PowerState,
)

__all__ = ["IPMIDriver"]

T = TypeVar("T")
log = logging.getLogger("strata.bmc")

# IPMI 2.0 Chassis Control (section 28.3) through pyghmi's names.
_CONTROL = {
    PowerAction.ON: "on",
    PowerAction.OFF: "off",
    PowerAction.GRACEFUL_OFF: "shutdown",
    PowerAction.RESET: "reset",
}
# Boot flags parameter 5, data 2: the boot device selector in bits [5:2] (IPMI 2.0
# table 28-14): 0001b force PXE, 0010b default hard drive, 0101b CD/DVD. No HTTP boot.
_DEVICE = {BootDevice.PXE: 0x04, BootDevice.DISK: 0x08, BootDevice.CD: 0x14}
# Session privilege levels (IPMI 2.0 table 22-28).
_PRIVILEGE = {"callback": 1, "user": 2, "operator": 3, "administrator": 4}
_AUTH_WORDS = ("password", "unauthorized", "username", "privilege", "rakp")
_TRANSIENT = (0xC0, 0xC3, 0xFF)  # node busy, time-out, unspecified (IPMI 2.0 table 5-2)


class IPMIDriver(GuardedDriver):
    capabilities = frozenset({Capability.POWER, Capability.BOOT_DEVICE, Capability.INVENTORY})

    _session: Any = None  # one pyghmi session per BMC, opened on first use

    def power_state(self) -> PowerState:
        return self._run("power state", lambda: self._read_power())

    def power(self, action: PowerAction) -> PowerState:
        return self._run(f"power {action}", lambda: self._power(action))

    def set_boot_device(
        self, device: BootDevice, mode: BootMode = BootMode.UEFI, *, persistent: bool = False
    ) -> None:
        if device not in _DEVICE:
            raise NotSupported(
                self.target.node,
                self.target.address,
                f"boot device {device} over IPMI",
                hint="use a redfish:// address for UEFI HTTP boot",
            )
        self._run(f"boot device {device}", lambda: self._boot(device, mode, persistent))

    def insert_media(self, url: str) -> None:
        raise NotSupported(
            self.target.node,
            self.target.address,
            "IPMI has no virtual media",
            hint="use a redfish-virtualmedia:// address",
        )

    def eject_media(self) -> None:
        self.insert_media("")

    def inventory(self) -> Inventory:
        return self._run("inventory", self._inventory)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.ipmi_session.logout()
            except Exception:  # the session may already be gone
                log.debug("bmc logout failed node=%s bmc=%s", self.target.node, self.target.address)

    # -- the work ------------------------------------------------------

    def _translate(self, operation: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except BMCError:
            raise
        except Exception as exc:
            error = self._classify(operation, exc)
            if error.transient:
                self.close()  # a broken session is not reused; the next try logs on afresh
            raise error from None

    def _classify(self, op: str, exc: Exception) -> BMCError:
        node, address = self.target.node, self.target.address
        text = redact(str(exc), (self._credentials.password.reveal(),))
        lowered = text.lower()
        if isinstance(exc, pyghmi_exc.IpmiException) and any(w in lowered for w in _AUTH_WORDS):
            return AuthenticationFailed(
                node,
                address,
                f"{op}: the BMC refused the credentials ({text})",
                hint="check the user name, password and privilege level",
            )
        if isinstance(exc, pyghmi_exc.IpmiException) and (
            not text or text == "None" or "timeout" in lowered or "no longer connected" in lowered
        ):
            return Unreachable(
                node,
                address,
                f"{op}: no answer from the BMC",
                hint="is it powered, cabled, and at this address (UDP)?",
            )
        if isinstance(exc, pyghmi_exc.UnsupportedFunctionality) or "invalid command" in lowered:
            return NotSupported(node, address, f"{op}: {text or 'not offered by this BMC'}")
        if isinstance(exc, OSError):
            return Unreachable(node, address, f"{op}: {exc.strerror or text}")
        code = getattr(exc, "ipmicode", 0) or 0
        return BMCFault(
            node,
            address,
            f"{op}: {text or type(exc).__name__}",
            transient=code in _TRANSIENT,
        )

    def _cmd(self) -> Any:
        if self._session is None:
            t = self.target
            self._session = ipmi_command.Command(
                bmc=t.host,
                userid=self._credentials.username,
                password=self._credentials.password.reveal(),
                port=t.port or 623,
                privlevel=_PRIVILEGE[t.privilege or "administrator"],
                keepalive=True,
            )
        return self._session

    def _read_power(self) -> PowerState:
        state = self._cmd().get_power().get("powerstate")
        return (
            PowerState.ON
            if state == "on"
            else PowerState.OFF
            if state == "off"
            else PowerState.UNKNOWN
        )

    def _power(self, action: PowerAction) -> PowerState:
        state = self._read_power()
        want = action.settles_at
        if action in (PowerAction.ON, PowerAction.OFF, PowerAction.GRACEFUL_OFF) and state == want:
            return state
        if state == PowerState.OFF and action in (PowerAction.RESET, PowerAction.CYCLE):
            action = PowerAction.ON  # restarting a machine that is off means starting it
        if action == PowerAction.CYCLE:  # off, settle, on: portable across BMCs
            self._cmd().set_power("off")
            self._settle(PowerState.OFF)
            action = PowerAction.ON
        self._cmd().set_power(_CONTROL[action])
        return self._settle(want)

    def _settle(self, want: PowerState) -> PowerState:
        s = self._settings
        deadline = time.monotonic() + s.power_timeout
        while True:
            state = self._read_power()
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
        """Set System Boot Options parameter by parameter (``ipmi_boot``); optional
        parameters the BMC refuses are logged, and the boot flags are still sent."""
        cmd = self._cmd()
        node, address = self.target.node, self.target.address
        try:
            refused = ipmi_boot.set_boot_device(
                lambda netfn, command, data: cmd.raw_command(netfn, command, data=data),
                _DEVICE[device],
                uefi=mode == BootMode.UEFI,
                persistent=persistent,
            )
        except ipmi_boot.BootFlagsRefused as exc:
            raise BMCFault(
                node,
                address,
                f"boot device {device}: the BMC refused Set System Boot Options {exc.refusal}",
                hint="no boot device was set; check the BMC's IPMI settings and privilege level",
                transient=exc.refusal.code in _TRANSIENT,
            ) from None
        except ipmi_boot.TransportFault as exc:
            raise Unreachable(node, address, f"boot device {device}: no answer ({exc})") from None
        for refusal in refused:
            log.info(
                "bmc boot option refused, best effort node=%s bmc=%s %s; boot flags set",
                node,
                address,
                refusal,
            )

    def _inventory(self) -> Inventory:
        cmd = self._cmd()
        fru = _optional(lambda: _system_fru(cmd))
        firmware = _optional(lambda: dict(cmd.get_firmware()))
        bmc = firmware.get("BMC Version", {}) if firmware else {}
        macs = [normal.mac(v) for k, v in (fru or {}).items() if "mac" in k.lower()]
        return Inventory(
            manufacturer=_text(fru, "Manufacturer") or _text(fru, "Board manufacturer"),
            model=_text(fru, "Product name") or _text(fru, "Board product name"),
            serial_number=_text(fru, "Serial Number") or _text(fru, "Board serial number"),
            cpu_threads=None,
            memory_gib=None,
            bmc_firmware=normal.text(bmc.get("version")) if isinstance(bmc, dict) else None,
            nics=tuple(NICInfo(mac=m, link="unknown") for m in macs if m),
        )


# Read FRU Data (IPMI 2.0, section 34.2) in chunks this small when a BMC answers 0xC8
# ("request data field length limit exceeded") to pyghmi's 224-byte reads: pyghmi backs
# off only on 0xC9/0xCA. OpenIPMI's ipmi_sim answers 0xC8 above 32 bytes.
_FRU_CHUNK = 32


def _system_fru(cmd: Any) -> dict[str, Any]:
    try:
        return dict(cmd.get_inventory_of_component("System") or {})
    except pyghmi_exc.IpmiException as exc:
        if getattr(exc, "ipmicode", 0) != 0xC8:
            raise
    size = _raw(cmd, 0x10, [0])  # Get FRU Inventory Area Info (section 34.1), FRU 0
    total, raw, offset = size[0] | size[1] << 8, bytearray(), 0
    while offset < total:
        count = min(_FRU_CHUNK, total - offset)
        data = _raw(cmd, 0x11, [0, offset & 0xFF, offset >> 8, count])
        if not data[0]:
            break
        raw.extend(data[1 : 1 + data[0]])
        offset += data[0]
    return dict(ipmi_fru.FRU(rawdata=raw).info or {})


def _raw(cmd: Any, command: int, data: list[int]) -> bytes:
    answer = cmd.raw_command(netfn=0x0A, command=command, data=data)  # netfn Storage
    if answer.get("error"):
        raise pyghmi_exc.IpmiException(answer["error"], answer.get("code", 0))
    return bytes(answer["data"])


def _optional(read: Any) -> Any:
    """Inventory parts many BMCs lack (FRU areas, firmware records): absent, not an error."""
    try:
        return read()
    except (pyghmi_exc.IpmiException, pyghmi_exc.UnsupportedFunctionality, KeyError, TypeError):
        return None


def _text(fields: dict[str, Any] | None, key: str) -> str | None:
    """A FRU text field in its normal form (FRU fields may be padded with spaces or NULs)."""
    value = (fields or {}).get(key)
    return normal.text(value) if isinstance(value, str) else None
