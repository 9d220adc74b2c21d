"""Redfish trees shaped like four vendors' BMCs, where they differ most: virtual media and boot.

Written from the vendors' published Redfish documentation (reference, not copies):
- Dell iDRAC9 (Redfish API Guide): system ``System.Embedded.1``, manager
  ``iDRAC.Embedded.1``; virtual media under the Manager (``VirtualMedia/CD``,
  firmware before 6.x) with InsertMedia/EjectMedia actions; some firmware
  refuses InsertMedia without ``TransferProtocolType``.
- HPE iLO 5 (iLO RESTful API reference): system and manager ``1``; virtual
  media under the Manager, member ``2`` is the CD/DVD (``1`` the floppy/USB);
  standard InsertMedia/EjectMedia actions.
- Lenovo XClarity Controller (XCC Redfish guide): virtual media under the
  Manager (``VirtualMedia/EXT1``) without actions: insert and eject are a
  PATCH of ``Image``/``Inserted`` (the resource answers ``Allow: PATCH``).
- Supermicro X12 (Redfish reference guide): virtual media under the Manager
  (``VirtualMedia/CD1``) with actions that refuse ``Inserted`` and
  ``WriteProtected`` in the body; a boot override PATCH must name
  ``BootSourceOverrideEnabled``.
Plus the newer DMTF layout (virtual media under the System), as on
sushy-tools and recent iDRAC firmware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.redfish_mock import Action, RedfishMock

__all__ = ["VENDORS", "Vendor", "build_vendor"]

_RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle"]


@dataclass(frozen=True)
class Vendor:
    name: str
    manufacturer: str
    model: str
    system_id: str
    manager_id: str
    media_on: str  # "manager" or "system"
    media_id: str
    insert_by: str  # "action" or "patch"
    boot_targets: tuple[str, ...]
    firmware: str
    action_refuses: tuple[str, ...] = ()  # InsertMedia body keys the BMC rejects
    needs_transfer_protocol: bool = False
    boot_patch_needs_enabled: bool = False
    extra_media: dict[str, list[str]] = field(default_factory=dict)  # other members: id -> types

    @property
    def system(self) -> str:
        return f"/redfish/v1/Systems/{self.system_id}"

    @property
    def manager(self) -> str:
        return f"/redfish/v1/Managers/{self.manager_id}"

    @property
    def media_collection(self) -> str:
        base = self.manager if self.media_on == "manager" else self.system
        return f"{base}/VirtualMedia"

    @property
    def media(self) -> str:
        return f"{self.media_collection}/{self.media_id}"


VENDORS = {
    "dell-idrac9": Vendor(
        "dell-idrac9",
        "Dell Inc.",
        "PowerEdge R650",
        "System.Embedded.1",
        "iDRAC.Embedded.1",
        "manager",
        "CD",
        "action",
        ("None", "Pxe", "Hdd", "Cd", "UefiHttp", "BiosSetup"),
        "5.10.50.00",
        needs_transfer_protocol=True,
        extra_media={"RemovableDisk": ["USBStick"]},
    ),
    "hpe-ilo5": Vendor(
        "hpe-ilo5",
        "HPE",
        "ProLiant DL360 Gen10",
        "1",
        "1",
        "manager",
        "2",
        "action",
        ("None", "Pxe", "Hdd", "Cd", "UefiHttp", "Usb"),
        "iLO 5 v2.78",
        extra_media={"1": ["Floppy", "USBStick"]},
    ),
    "lenovo-xcc": Vendor(
        "lenovo-xcc",
        "Lenovo",
        "ThinkSystem SR650",
        "1",
        "1",
        "manager",
        "EXT1",
        "patch",
        ("None", "Pxe", "Hdd", "Cd", "UefiHttp"),
        "TEI3A2S 5.10",
    ),
    "supermicro-x12": Vendor(
        "supermicro-x12",
        "Supermicro",
        "SYS-120U-TNR",
        "1",
        "1",
        "manager",
        "CD1",
        "action",
        ("None", "Pxe", "Hdd", "Cd", "UsbCd", "UefiHttp"),
        "01.01.06",
        action_refuses=("Inserted", "WriteProtected"),
        boot_patch_needs_enabled=True,
    ),
    "dmtf-system-media": Vendor(
        "dmtf-system-media",
        "Contoso",
        "3500",
        "437XR1138R2",
        "BMC",
        "system",
        "CD1",
        "action",
        ("None", "Pxe", "Hdd", "Cd", "UefiHttp"),
        "1.45.455b66-rev4",
    ),
}


def build_vendor(
    vendor: Vendor, username: str, password: str, *, settles: bool = True
) -> RedfishMock:
    resources = _tree(vendor)
    actions: dict[str, Action] = {
        f"{vendor.system}/Actions/ComputerSystem.Reset": _reset(vendor, settles),
    }
    patchable = {vendor.system}
    if vendor.insert_by == "action":
        actions[f"{vendor.media}/Actions/VirtualMedia.InsertMedia"] = _insert(vendor)
        actions[f"{vendor.media}/Actions/VirtualMedia.EjectMedia"] = _eject(vendor)
    else:
        patchable.add(vendor.media)
    checks = {vendor.system: _boot_check(vendor)}
    return RedfishMock(
        resources,
        username=username,
        password=password,
        actions=actions,
        patchable=patchable,
        checks=checks,
    )


def _tree(v: Vendor) -> dict[str, dict[str, Any]]:
    media_members = {v.media_id: ["CD", "DVD"], **v.extra_media}
    tree: dict[str, dict[str, Any]] = {
        "/redfish/v1": {
            "@odata.id": "/redfish/v1",
            "Id": "RootService",
            "RedfishVersion": "1.11.0",
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
            "Managers": {"@odata.id": "/redfish/v1/Managers"},
            "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
            "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}},
        },
        "/redfish/v1/SessionService": {
            "@odata.id": "/redfish/v1/SessionService",
            "Id": "SessionService",
            "Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"},
        },
        "/redfish/v1/Systems": _collection("/redfish/v1/Systems", [v.system]),
        "/redfish/v1/Managers": _collection("/redfish/v1/Managers", [v.manager]),
        v.system: {
            "@odata.id": v.system,
            "Id": v.system_id,
            "Name": "System",
            "Manufacturer": v.manufacturer,
            "Model": v.model,
            "SerialNumber": "CN7475141E0042",
            "UUID": "4c4c4544-0042-3510-8054-b4c04f4a4d32",
            "PowerState": "Off",
            "Boot": {
                "BootSourceOverrideTarget": "None",
                "BootSourceOverrideTarget@Redfish.AllowableValues": list(v.boot_targets),
                "BootSourceOverrideEnabled": "Disabled",
                "BootSourceOverrideMode": "UEFI",
            },
            "MemorySummary": {"TotalSystemMemoryGiB": 256},
            "Actions": {
                "#ComputerSystem.Reset": {
                    "target": f"{v.system}/Actions/ComputerSystem.Reset",
                    "ResetType@Redfish.AllowableValues": _RESET_TYPES,
                }
            },
            "Links": {"ManagedBy": [{"@odata.id": v.manager}]},
        },
        v.manager: {
            "@odata.id": v.manager,
            "Id": v.manager_id,
            "Name": "Manager",
            "FirmwareVersion": v.firmware,
            "ManagerType": "BMC",
        },
        v.media_collection: _collection(
            v.media_collection, [f"{v.media_collection}/{m}" for m in media_members]
        ),
    }
    owner = v.manager if v.media_on == "manager" else v.system
    tree[owner]["VirtualMedia"] = {"@odata.id": v.media_collection}
    for member, types in media_members.items():
        path = f"{v.media_collection}/{member}"
        tree[path] = {
            "@odata.id": path,
            "Id": member,
            "Name": "Virtual Media",
            "MediaTypes": types,
            "Image": None,
            "Inserted": False,
            "WriteProtected": True,
        }
        if v.insert_by == "action":
            tree[path]["Actions"] = {
                "#VirtualMedia.InsertMedia": {"target": f"{path}/Actions/VirtualMedia.InsertMedia"},
                "#VirtualMedia.EjectMedia": {"target": f"{path}/Actions/VirtualMedia.EjectMedia"},
            }
    return tree


def _collection(path: str, members: list[str]) -> dict[str, Any]:
    return {
        "@odata.id": path,
        "Members@odata.count": len(members),
        "Members": [{"@odata.id": m} for m in members],
    }


def _reset(v: Vendor, settles: bool) -> Action:
    def act(mock: RedfishMock, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        kind = body.get("ResetType")
        if kind not in _RESET_TYPES:
            return 400, {
                "error": {
                    "code": "Base.1.0.ActionParameterNotSupported",
                    "message": f"ResetType {kind} is not supported",
                }
            }
        if settles:
            state = "Off" if kind in ("ForceOff", "GracefulShutdown") else "On"
            mock.update(v.system, {"PowerState": state})
        return 204, None

    return act


def _insert(v: Vendor) -> Action:
    def act(mock: RedfishMock, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        refused = [k for k in v.action_refuses if k in body]
        if refused:
            return 400, {
                "error": {
                    "code": "Base.1.0.PropertyUnknown",
                    "message": f"The property {refused[0]} is not in the list of valid properties",
                }
            }
        if v.needs_transfer_protocol and "TransferProtocolType" not in body:
            return 400, {
                "error": {
                    "code": "Base.1.8.ActionParameterMissing",
                    "message": "The action requires the parameter TransferProtocolType",
                    "@Message.ExtendedInfo": [
                        {
                            "MessageId": "Base.1.8.ActionParameterMissing",
                            "Message": "The action requires the parameter TransferProtocolType",
                            "RelatedProperties": ["#/TransferProtocolType"],
                            "Severity": "Warning",
                        }
                    ],
                }
            }
        mock.update(v.media, {"Image": body.get("Image"), "Inserted": True})
        return 204, None

    return act


def _eject(v: Vendor) -> Action:
    def act(mock: RedfishMock, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        mock.update(v.media, {"Image": None, "Inserted": False})
        return 204, None

    return act


def _boot_check(v: Vendor) -> Any:
    def check(body: dict[str, Any]) -> str | None:
        boot = body.get("Boot", {})
        target = boot.get("BootSourceOverrideTarget")
        if target is not None and target not in v.boot_targets:
            return f"BootSourceOverrideTarget {target} is not allowed"
        if v.boot_patch_needs_enabled and boot and "BootSourceOverrideEnabled" not in boot:
            return "BootSourceOverrideEnabled is required"
        return None

    return check
