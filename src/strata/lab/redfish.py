"""The lab's BMCs: one Redfish service answering for every lab server, each a QEMU
process (``LabMachine``).

Enough of DMTF's Redfish for what Strata asks (through sushy, as for real BMCs):
the service root, systems with power state, one-time boot override and the Reset
action, Ethernet interfaces with MAC and link, and a manager with a firmware
version, and a virtual CD per system (``strata.lab.virtual_media``). Basic
authentication only: a session login is refused, as sushy-tools' emulator refuses it,
and clients fall back to basic auth.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from strata.lab.machines import LabMachine
from strata.lab.virtual_media import VirtualMedia

__all__ = ["LabBMC"]

ROOT = "/redfish/v1"
RESET_TYPES = [
    "On",
    "ForceOff",
    "GracefulShutdown",
    "ForceRestart",
    "GracefulRestart",
    "PowerCycle",
]
BOOT_TARGETS = ["None", "Pxe", "UefiHttp", "Hdd", "Cd"]


class LabBMC:
    def __init__(self, machines: dict[str, LabMachine], username: str, password: str) -> None:
        self.machines = machines
        self._auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        system = ROOT + "/Systems/{id}"
        media = VirtualMedia(machines, system, self._guard)
        self.app = Starlette(
            routes=[
                Route(ROOT, self.root),
                Route(ROOT + "/", self.root),
                Route(ROOT + "/SessionService", self.session_service),
                Route(ROOT + "/SessionService/Sessions", self.sessions, methods=["GET", "POST"]),
                Route(ROOT + "/Systems", self.systems),
                Route(system, self.system, methods=["GET", "PATCH"]),
                Route(system + "/Actions/ComputerSystem.Reset", self.reset, methods=["POST"]),
                Route(system + "/EthernetInterfaces", self.nics),
                Route(system + "/EthernetInterfaces/{nic}", self.nic),
                Route(ROOT + "/Managers", self.managers),
                Route(ROOT + "/Managers/{id}", self.manager),
                *media.routes,
            ]
        )

    async def root(self, request: Request) -> Response:
        return _json(
            {
                "@odata.id": ROOT,
                "Id": "RootService",
                "Name": "Strata lab BMC",
                "RedfishVersion": "1.11.0",
                "Systems": {"@odata.id": ROOT + "/Systems"},
                "Managers": {"@odata.id": ROOT + "/Managers"},
                "SessionService": {"@odata.id": ROOT + "/SessionService"},
                "Links": {"Sessions": {"@odata.id": ROOT + "/SessionService/Sessions"}},
            }
        )

    async def session_service(self, request: Request) -> Response:
        return self._guard(request) or _json(
            {
                "@odata.id": ROOT + "/SessionService",
                "Id": "SessionService",
                "Sessions": {"@odata.id": ROOT + "/SessionService/Sessions"},
            }
        )

    async def sessions(self, request: Request) -> Response:
        return _error(401, "sessions are not offered: use basic authentication")

    async def systems(self, request: Request) -> Response:
        return self._guard(request) or _collection(
            ROOT + "/Systems", [f"{ROOT}/Systems/{n}" for n in self.machines]
        )

    async def system(self, request: Request) -> Response:
        denied = self._guard(request)
        machine = self.machines.get(request.path_params["id"])
        if denied or machine is None:
            return denied or _error(404, "no such system")
        if request.method == "PATCH":
            boot = (await request.json()).get("Boot", {})
            target = boot.get("BootSourceOverrideTarget", machine.boot_once or "None")
            if target not in BOOT_TARGETS:
                return _error(400, f"BootSourceOverrideTarget {target} is not allowed")
            enabled = boot.get("BootSourceOverrideEnabled", "Once")
            machine.boot_once = None if enabled == "Disabled" or target == "None" else target
            machine.boot_mode = boot.get("BootSourceOverrideMode", machine.boot_mode)
            return Response(status_code=204)
        return _json(_system(machine))

    async def reset(self, request: Request) -> Response:
        denied = self._guard(request)
        machine = self.machines.get(request.path_params["id"])
        if denied or machine is None:
            return denied or _error(404, "no such system")
        kind = (await request.json()).get("ResetType")
        if kind not in RESET_TYPES:
            return _error(400, f"ResetType {kind} is not allowed")
        if kind in ("ForceOff", "GracefulShutdown"):
            machine.power_off()
        elif kind == "On":
            machine.power_on()
        else:
            machine.reset()
        return Response(status_code=204)

    async def nics(self, request: Request) -> Response:
        """One member per NIC of the machine: ``nic0`` (its boot NIC), ``nic1``, …"""
        path = f"{ROOT}/Systems/{request.path_params['id']}/EthernetInterfaces"
        machine = self.machines.get(request.path_params["id"])
        count = len(machine.macs) if machine is not None else 1
        return self._guard(request) or _collection(path, [f"{path}/nic{i}" for i in range(count)])

    async def nic(self, request: Request) -> Response:
        denied = self._guard(request)
        machine = self.machines.get(request.path_params["id"])
        if denied or machine is None:
            return denied or _error(404, "no such system")
        macs = machine.macs
        name = request.path_params["nic"]
        index = int(name.removeprefix("nic")) if name.removeprefix("nic").isdigit() else -1
        if not 0 <= index < len(macs):
            return _error(404, f"no such interface: {name}")
        return _json(
            {
                "@odata.id": str(request.url.path),
                "Id": name,
                "Name": "e1000",
                "MACAddress": macs[index],
                "LinkStatus": "LinkUp",
                "Status": {"State": "Enabled"},
            }
        )

    async def managers(self, request: Request) -> Response:
        return self._guard(request) or _collection(ROOT + "/Managers", [ROOT + "/Managers/lab"])

    async def manager(self, request: Request) -> Response:
        return self._guard(request) or _json(
            {
                "@odata.id": ROOT + "/Managers/lab",
                "Id": "lab",
                "Name": "Strata lab BMC",
                "ManagerType": "BMC",
                "FirmwareVersion": "strata-lab-1",
            }
        )

    def _guard(self, request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), self._auth.encode()):
            return None
        return _error(401, "authentication required")


def _system(m: LabMachine) -> dict[str, Any]:
    path = f"{ROOT}/Systems/{m.name}"
    return {
        "@odata.id": path,
        "Id": m.name,
        "Name": m.name,
        "Manufacturer": "QEMU",
        "Model": "Strata lab machine (TCG)",
        "SerialNumber": m.name,
        "PowerState": "On" if m.on else "Off",
        "Boot": {
            "BootSourceOverrideTarget": m.boot_once or "None",
            "BootSourceOverrideTarget@Redfish.AllowableValues": BOOT_TARGETS,
            "BootSourceOverrideEnabled": "Once" if m.boot_once else "Disabled",
            "BootSourceOverrideMode": m.boot_mode,
        },
        "ProcessorSummary": {"Count": 1},
        "MemorySummary": {"TotalSystemMemoryGiB": m.memory_mib / 1024},
        "EthernetInterfaces": {"@odata.id": path + "/EthernetInterfaces"},
        "VirtualMedia": {"@odata.id": path + "/VirtualMedia"},
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": path + "/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": RESET_TYPES,
            }
        },
        "Links": {"ManagedBy": [{"@odata.id": ROOT + "/Managers/lab"}]},
    }


def _collection(path: str, members: list[str]) -> Response:
    return _json(
        {
            "@odata.id": path,
            "Members@odata.count": len(members),
            "Members": [{"@odata.id": m} for m in members],
        }
    )


def _json(body: dict[str, Any]) -> Response:
    return JSONResponse(body, headers={"OData-Version": "4.0"})


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": {"code": "Base.1.0.GeneralError", "message": message}}, status_code=status
    )
