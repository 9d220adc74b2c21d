"""An IPMI 2.0 (lanplus) BMC simulator for tests: pyghmi's BMC server with a machine behind it.

Runs in its own process (pyghmi's server and client share one module-level
event loop, so they must not share a process):

    python -m tests.support.ipmi_simulator --port 9623 --user admin --password-env IPMI_PW

The machine has a power state (changes take ``--power-delay`` seconds to
settle, as on real hardware) and a boot device. Two changes to pyghmi's
server, both for pyghmi 1.6.19 (see shared/TESTING.md):
- it answers every RMCP+ open-session request with SHA-1 algorithms, which
  pyghmi's own client (asking for SHA-256 first) cannot parse; here a request
  for anything but HMAC-SHA1 is refused with status 0x11 so the client falls
  back to SHA-1, as it does against real BMCs;
- ``power_reset`` of a machine that is off answers 0xD5 ("not supported in
  present state"), as IPMI 2.0 section 28.3 allows.

Set System Boot Options (IPMI 2.0 section 28.12, table 28-14) keeps parameter 5's
data bytes whole, so ``ipmitool chassis bootparam get 5`` shows the persistent and
EFI bits as sent (pyghmi's server keeps only the device); and ``--refuse-boot-param
N`` (repeatable) answers completion code 0x80, "parameter not supported", to
parameter N, as BMCs do that implement only the boot flags.
"""

from __future__ import annotations

import argparse
import os
import threading
import uuid
from typing import Any

from pyghmi.ipmi import bmc as pyghmi_bmc
from pyghmi.ipmi.private import serversession

_open_response = serversession.ServerSession.create_open_session_response


def _sha1_only(self: Any, request: bytearray) -> bytearray:
    # RMCP+ Open Session Request (IPMI 2.0 table 13-16): byte 12 is the
    # authentication algorithm; 1 = RAKP-HMAC-SHA1.
    if len(request) > 12 and request[12] != 1:
        self.clientsessionid = request[4:8]
        return bytearray([request[0], 0x11, 0, 0]) + request[4:8]
    return bytearray(_open_response(self, request))


serversession.ServerSession.create_open_session_response = _sha1_only  # type: ignore[method-assign]


class SimulatedBMC(pyghmi_bmc.Bmc):  # type: ignore[misc]
    def __init__(
        self,
        authdata: dict[str, str],
        port: int,
        address: str,
        power_delay: float,
        refuse_boot_params: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(authdata, port=port, address=address)
        self.power = "off"
        self.bootdev = "default"
        self.boot_flags = [0x00, 0x00, 0x00, 0x00, 0x00]  # parameter 5, data 1-5
        self.refuse_boot_params = refuse_boot_params
        self.power_delay = power_delay
        self.machine_uuid = uuid.uuid4()
        self.mfgid = 0x1291
        self.prodid = 0x0F02
        self.firmwaremajor, self.firmwareminor = 2, 31

    def _settle(self, state: str) -> None:
        if self.power_delay <= 0:
            self.power = state
        else:
            threading.Timer(self.power_delay, lambda: setattr(self, "power", state)).start()

    def get_power_state(self) -> str:
        return self.power

    def power_on(self) -> None:
        self._settle("on")

    def power_off(self) -> None:
        self._settle("off")

    def power_shutdown(self) -> None:
        self._settle("off")

    def power_cycle(self) -> int | None:
        if self.power == "off":
            return 0xD5
        self.power = "off"
        self._settle("on")
        return None

    def power_reset(self) -> int | None:
        return 0xD5 if self.power == "off" else None

    def get_boot_device(self) -> str:
        return self.bootdev

    def set_boot_device(self, bootdevice: str) -> None:
        self.bootdev = bootdevice

    def get_system_guid(self) -> uuid.UUID:
        return self.machine_uuid

    def set_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        parameter = request["data"][0] & 0x7F  # bit 7: the parameter-valid lock bit
        if parameter in self.refuse_boot_params:
            session.send_ipmi_response(code=0x80)  # parameter not supported
            return
        if parameter == 5:
            self.boot_flags = list(request["data"][1:6])
        super().set_system_boot_options(request, session)

    def get_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        if request["data"][0] & 0x7F == 5:  # version 1, parameter 5, its data as set
            session.send_ipmi_response(data=[1, 5, *self.boot_flags])
            return
        super().get_system_boot_options(request, session)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password-env", required=True, help="variable holding the password")
    parser.add_argument("--power-delay", type=float, default=0.0)
    parser.add_argument("--refuse-boot-param", type=int, action="append", default=[])
    args = parser.parse_args()
    bmc = SimulatedBMC(
        {args.user: os.environ[args.password_env]},
        args.port,
        args.address,
        args.power_delay,
        frozenset(args.refuse_boot_param),
    )
    print(f"listening {args.address}:{args.port}", flush=True)
    bmc.listen(timeout=30)


if __name__ == "__main__":
    main()
