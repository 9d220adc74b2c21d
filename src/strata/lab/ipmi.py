"""The lab's IPMI BMCs: one per node whose BMC address is ``ipmi://``, each an IPMI 2.0
(RMCP+, lanplus) endpoint on UDP that drives the node's QEMU machine, built on pyghmi's
BMC server class (``pyghmi.ipmi.bmc.Bmc``), as shared/TESTING.md describes.

Chassis control (IPMI 2.0 section 28.3): power up starts the machine, power down and
soft shutdown stop it, hard reset and power cycle restart it (``0xD5``, "not supported
in present state", for a machine that is off). Set System Boot Options parameter 5
(section 28.13, the boot flags): PXE makes the next power-on a network boot, CD/DVD one
from the machine's drive, anything else its default; the flags are one-time, as a BMC
clears them at the next boot. The BIOS/EFI bit is not kept (the machines are SeaBIOS).

pyghmi 1.6.19's server answers every RMCP+ open-session request with SHA-1 algorithms,
which pyghmi's own client (asking for SHA-256 first: Strata's IPMI driver) cannot parse;
``_sha1_only`` refuses anything but RAKP-HMAC-SHA1 with status ``0x11`` ("invalid
authentication algorithm", table 13-16) so the client falls back to SHA-1, as it does
against real BMCs. Imported by the lab's daemon only: it changes pyghmi's server class
for the whole process.
"""

from __future__ import annotations

from typing import Any

from pyghmi.ipmi import bmc as pyghmi_bmc
from pyghmi.ipmi.private import serversession

from strata.lab.machines import LabMachine

__all__ = ["LabIPMI", "serve_forever"]

NOT_IN_PRESENT_STATE = 0xD5
BOOT_ONCE = {"network": "Pxe", "optical": "Cd"}  # pyghmi's device names -> Redfish's

_open_response = serversession.ServerSession.create_open_session_response


def _sha1_only(self: Any, request: bytearray) -> bytearray:
    """Open Session Request (IPMI 2.0 table 13-16): byte 12 is the authentication
    algorithm; 1 = RAKP-HMAC-SHA1. Anything else is refused (status 0x11)."""
    if len(request) > 12 and request[12] != 1:
        self.clientsessionid = request[4:8]
        return bytearray([request[0], 0x11, 0, 0]) + request[4:8]
    return bytearray(_open_response(self, request))


serversession.ServerSession.create_open_session_response = _sha1_only


class LabIPMI(pyghmi_bmc.Bmc):  # type: ignore[misc]
    """The IPMI BMC of ``machine``, listening on ``host``:``port`` (UDP), one user."""

    def __init__(
        self, machine: LabMachine, host: str, port: int, username: str, password: str
    ) -> None:
        super().__init__({username: password}, port=port, address=host)
        self.machine = machine
        self.mfgid, self.prodid = 0xB2D8, 0x0001  # the lab's: no vendor's quirks implied
        self.firmwaremajor, self.firmwareminor = 1, 0

    def get_power_state(self) -> str:
        return "on" if self.machine.on else "off"

    def power_on(self) -> None:
        self.machine.power_on()

    def power_off(self) -> None:
        self.machine.power_off()

    def power_shutdown(self) -> None:
        self.machine.power_off()

    def power_reset(self) -> int | None:
        if not self.machine.on:
            return NOT_IN_PRESENT_STATE
        self.machine.reset()
        return None

    def power_cycle(self) -> int | None:
        return self.power_reset()

    def get_boot_device(self) -> str:
        once = self.machine.boot_once
        return next((k for k, v in BOOT_ONCE.items() if v == once), "default")

    def set_boot_device(self, bootdevice: str) -> None:
        self.machine.boot_once = BOOT_ONCE.get(str(bootdevice))


def serve_forever(timeout: float = 30.0) -> None:
    """Answer every LabIPMI made in this process (pyghmi's one loop serves them all)."""
    pyghmi_bmc.Bmc.listen(timeout=timeout)
