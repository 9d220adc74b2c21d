"""Redfish trees shaped like vendors' BMCs, where they differ most: virtual media, boot,
reset types, ETags and inventory (``redfish_hardware``).

Written from the vendors' published Redfish documentation (reference, not copies):
- Dell iDRAC9 (Redfish API Guide): system ``System.Embedded.1``, manager
  ``iDRAC.Embedded.1``; virtual media under the Manager (``VirtualMedia/CD``,
  firmware before 6.x) with InsertMedia/EjectMedia actions; some firmware
  refuses InsertMedia without ``TransferProtocolType``.
- HPE iLO 5 2.55 (iLO RESTful API reference; a DL360 Gen10 Plus capture): system
  and manager ``1``; virtual media under the Manager, member ``2`` is the CD/DVD
  (``1`` the floppy/USB); standard InsertMedia/EjectMedia actions; ResetType
  without ``PowerCycle``; weak ETags.
- Lenovo XClarity Controller (XCC Redfish guide): virtual media under the
  Manager (``VirtualMedia/EXT1``) without actions: insert and eject are a
  PATCH of ``Image``/``Inserted`` (the resource answers ``Allow: PATCH``).
- Supermicro X12 (Redfish reference guide): virtual media under the Manager
  (``VirtualMedia/CD1``) with actions that refuse ``Inserted`` and
  ``WriteProtected`` in the body; a boot override PATCH must name
  ``BootSourceOverrideEnabled``.
- Supermicro X13 (bmclib fixtures): the Reset action lists
  ``GracefulShutdownGracefulRestart`` (no such ResetType) and neither
  ``PowerCycle`` nor ``GracefulShutdown``, and names a ``ResetActionInfo``; the
  System links ``VirtualMedia`` that lives under the Manager; no ``UefiHttp``
  target; strong ETags.
- Cisco UCS C220 M5, CIMC 4.1 (akaliwod/iserver crawl): a ``Boot`` without
  ``BootSourceOverrideMode`` (a PATCH naming it is refused, ``PropertyUnknown``)
  and with ``BootSourceOverrideEnabled@Redfish.AllowableValues``; virtual media
  ``Managers/CIMC/VirtualMedia/0`` with actions.
Plus the newer DMTF layout (virtual media under the System), as on
sushy-tools and recent iDRAC firmware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.redfish_hardware import HARDWARE, boot, reset_action, reset_action_info
from tests.support.redfish_mock import Action, RedfishMock, Refusal

__all__ = ["VENDORS", "Vendor", "build_vendor"]

_RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle")
_ILO5_255 = ("On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi", "PushPowerButton")
_X13 = ("On", "ForceOff", "GracefulShutdownGracefulRestart", "ForceRestart", "Nmi", "ForceOn")
_CIMC = ("On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi")
_CIMC += ("PowerCycle",)


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
    reset_types: tuple[str, ...] = _RESET_TYPES  # as advertised, malformed ones included
    reset_action_info: bool = False  # the Reset action also names a ResetActionInfo
    boot_mode: bool = True  # Boot has BootSourceOverrideMode
    boot_enabled_values: tuple[str, ...] | None = None  # its @Redfish.AllowableValues
    media_linked_from_system: bool = False  # System.VirtualMedia -> the Manager's
    etags: str | None = None  # "weak" or "strong"

    @property
    def offered_resets(self) -> tuple[str, ...]:
        """What the BMC takes: its advertised values that are ResetTypes."""
        return tuple(t for t in self.reset_types if t != "GracefulShutdownGracefulRestart")

    @property
    def system(self) -> str:
        return f"/redfish/v1/Systems/{self.system_id}"

    @property
    def manager(self) -> str:
        return f"/redfish/v1/Managers/{self.manager_id}"

    @property
    def chassis(self) -> str:
        return f"/redfish/v1/Chassis/{self.system_id}"

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
        "ProLiant DL360 Gen10 Plus",
        "1",
        "1",
        "manager",
        "2",
        "action",
        ("None", "Pxe", "Hdd", "Cd", "UefiHttp", "Usb"),
        "iLO 5 v2.55",
        extra_media={"1": ["Floppy", "USBStick"]},
        reset_types=_ILO5_255,
        etags="weak",
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
    "supermicro-x13": Vendor(
        "supermicro-x13",
        "Supermicro",
        "SYS-511E-WR",
        "1",
        "1",
        "manager",
        "CD1",
        "action",
        ("None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup", "UsbCd"),
        "01.02.09",
        action_refuses=("Inserted", "WriteProtected"),
        boot_patch_needs_enabled=True,
        reset_types=_X13,
        reset_action_info=True,
        media_linked_from_system=True,
        etags="strong",
    ),
    "cisco-cimc": Vendor(
        "cisco-cimc",
        "Cisco Systems Inc",
        "UCSC-C220-M5SX",
        "WZP2TEST0AB",
        "CIMC",
        "manager",
        "0",
        "action",
        ("None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Diags"),
        "4.1(3d)",
        extra_media={"1": ["Floppy", "USBStick"]},
        reset_types=_CIMC,
        boot_mode=False,
        boot_enabled_values=("Once", "Continuous", "Disabled"),
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
    vendor: Vendor,
    username: str,
    password: str,
    *,
    settles: bool = True,
    hardware: bool = True,
) -> RedfishMock:
    """The vendor's tree served; ``hardware=False`` leaves out its inventory subtrees
    (``redfish_hardware``) for a test that brings its own."""
    resources = _tree(vendor, hardware)
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
    mock = RedfishMock(
        resources,
        username=username,
        password=password,
        actions=actions,
        patchable=patchable,
        checks=checks,
        etags=vendor.etags,
    )
    if hardware and vendor.name in HARDWARE:
        mock.etag_kinds.update(HARDWARE[vendor.name](vendor.system, vendor.chassis).etags)
    return mock


def _tree(v: Vendor, hardware: bool) -> dict[str, dict[str, Any]]:
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
            "Boot": boot(v),
            "MemorySummary": {"TotalSystemMemoryGiB": 256},
            "Actions": {"#ComputerSystem.Reset": reset_action(v)},
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
    if v.media_linked_from_system:
        tree[v.system]["VirtualMedia"] = {"@odata.id": v.media_collection}
    if v.reset_action_info:
        tree[f"{v.system}/ResetActionInfo"] = reset_action_info(v)
    if hardware and v.name in HARDWARE:
        inventory = HARDWARE[v.name](v.system, v.chassis)
        links = {**tree[v.system]["Links"], **inventory.system["Links"]}
        tree[v.system].update({**inventory.system, "Links": links})
        tree.update(inventory.resources)
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
        if kind not in v.offered_resets:
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
    def check(body: dict[str, Any]) -> Refusal:
        boot = body.get("Boot", {})
        target = boot.get("BootSourceOverrideTarget")
        if target is not None and target not in v.boot_targets:
            return f"BootSourceOverrideTarget {target} is not allowed"
        if v.boot_patch_needs_enabled and boot and "BootSourceOverrideEnabled" not in boot:
            return "BootSourceOverrideEnabled is required"
        if not v.boot_mode and "BootSourceOverrideMode" in boot:
            return 400, {
                "error": {
                    "code": "Base.1.4.PropertyUnknown",
                    "message": "The property BootSourceOverrideMode is not in the list of "
                    "valid properties for the resource.",
                }
            }
        return None

    return check
