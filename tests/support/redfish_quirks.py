"""Redfish BMCs with the field faults of issue 12, built on the vendor trees.

Each is a vendor tree from ``redfish_vendors`` served by ``RedfishMock`` (a real
HTTP server) and changed where real BMCs differ:

- ``boot_without_mode``: a ``Boot`` object with no ``BootSourceOverrideMode``
  that answers 400 ``PropertyUnknown`` (Base registry) to any PATCH naming it;
- ``powering_on``: ``PowerState`` reads ``PoweringOn`` for a while, then ``On``,
  and a ``Reset`` to ``On`` while the system is not off answers 409 with iDRAC's
  extended message ``IDRAC.1.6.PSU501`` "Server is already powered ON." (severity
  Informational, under the generic "See ExtendedInfo" error: as in
  dell/dellemc-openmanage-ansible-modules issue 132);
- ``lagging``: ``PowerState`` still reads the old state while the host already is
  in the new one, until a reset is refused with an "already" answer;
- ``refusing_resets``: every reset answered with one error;
- ``with_drives``: a Storage collection with the given Drives (DSP0268, Storage
  and Drive schemas).
"""

from __future__ import annotations

import threading
from typing import Any

from tests.support.redfish_mock import Action, RedfishMock
from tests.support.redfish_vendors import Vendor, build_vendor

__all__ = [
    "ALREADY_OFF",
    "ALREADY_ON",
    "IN_STANDBY",
    "OTHER_CONFLICT",
    "WORDS_ALREADY_ON",
    "boot_without_mode",
    "extended_error",
    "lagging",
    "powering_on",
    "refusing_resets",
    "with_drives",
]

_GENERAL = (
    "Base.1.2.GeneralError",
    "A general error has occurred. See ExtendedInfo for more information",
)


def extended_error(*infos: dict[str, Any], code: str = _GENERAL[0]) -> dict[str, Any]:
    """A Redfish error body (DSP0266, "Error responses") carrying ``infos``."""
    return {"error": {"code": code, "message": _GENERAL[1], "@Message.ExtendedInfo": list(infos)}}


ALREADY_ON = extended_error(
    {
        "MessageId": "IDRAC.1.6.PSU501",
        "Message": "Server is already powered ON.",
        "MessageArgs": [],
        "Resolution": "No response action is required.",
        "Severity": "Informational",
    }
)
ALREADY_OFF = extended_error(
    {
        "MessageId": "IDRAC.1.6.PSU502",
        "Message": "Server is already powered OFF.",
        "Resolution": "No response action is required.",
        "Severity": "Informational",
    }
)
IN_STANDBY = extended_error(
    {
        "MessageId": "Base.1.8.ResourceInStandby",
        "Message": "The request could not be performed because the resource is in standby.",
        "Resolution": "Ensure that the resource is in the correct power state and resubmit "
        "the request.",
        "Severity": "Critical",
    }
)
WORDS_ALREADY_ON = extended_error(  # a vendor with no registry entry, only words
    {"MessageId": "Contoso.1.0.PowerControl", "Message": "The host is already on."}
)
OTHER_CONFLICT = extended_error(
    {
        "MessageId": "Contoso.1.0.PowerBudgetExceeded",
        "Message": "The chassis power budget does not allow another server to start.",
        "Resolution": "Raise the chassis power cap or power off another server.",
        "Severity": "Warning",
    }
)


def boot_without_mode(vendor: Vendor, username: str, password: str) -> RedfishMock:
    mock = build_vendor(vendor, username, password)
    mock.remove(vendor.system, "Boot", "BootSourceOverrideMode")
    unknown = extended_error(
        {
            "MessageId": "Base.1.8.PropertyUnknown",
            "Message": "The property BootSourceOverrideMode is not in the list of valid "
            "properties for the resource.",
            "MessageArgs": ["BootSourceOverrideMode"],
            "Severity": "Warning",
        }
    )
    vendor_check = mock.checks[vendor.system]

    def check(body: dict[str, Any]) -> Any:
        if "BootSourceOverrideMode" in body.get("Boot", {}):
            return 400, unknown
        return vendor_check(body)

    mock.checks[vendor.system] = check
    return mock


def powering_on(vendor: Vendor, username: str, password: str, seconds: float) -> RedfishMock:
    """Reads PoweringOn for ``seconds`` from now, then On."""
    mock = build_vendor(vendor, username, password)
    mock.update(vendor.system, {"PowerState": "PoweringOn"})
    timer = threading.Timer(seconds, lambda: mock.update(vendor.system, {"PowerState": "On"}))
    timer.daemon = True
    timer.start()
    mock.actions[_reset_path(vendor)] = _conflicting_reset(vendor)
    return mock


def lagging(
    vendor: Vendor, username: str, password: str, actual: str, answer: dict[str, Any]
) -> RedfishMock:
    """The host is ``actual`` ("On" or "Off"); PowerState reads the other state until a
    reset is refused with ``answer`` (409), which makes the BMC read the host again."""
    mock = build_vendor(vendor, username, password)
    mock.update(vendor.system, {"PowerState": "Off" if actual == "On" else "On"})

    def act(m: RedfishMock, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        m.update(vendor.system, {"PowerState": actual})
        return 409, answer

    mock.actions[_reset_path(vendor)] = act
    return mock


def refusing_resets(
    vendor: Vendor, username: str, password: str, status: int, answer: dict[str, Any]
) -> RedfishMock:
    mock = build_vendor(vendor, username, password)
    mock.actions[_reset_path(vendor)] = lambda m, body: (status, answer)
    return mock


def with_drives(
    vendor: Vendor, username: str, password: str, drives: list[dict[str, Any]]
) -> RedfishMock:
    """``drives``: Drive properties (Id, CapacityBytes, Model, SerialNumber, …); the
    vendor's own inventory subtrees left out."""
    mock = build_vendor(vendor, username, password, hardware=False)
    storage = f"{vendor.system}/Storage"
    controller = f"{storage}/RAID.1"
    paths = [f"{controller}/Drives/{d['Id']}" for d in drives]
    mock.update(vendor.system, {"Storage": {"@odata.id": storage}})
    mock.put(
        storage,
        {"@odata.id": storage, "Members": [{"@odata.id": controller}], "Members@odata.count": 1},
    )
    mock.put(
        controller,
        {
            "@odata.id": controller,
            "Id": "RAID.1",
            "Name": "Storage controller",
            "Drives": [{"@odata.id": p} for p in paths],
            "Drives@odata.count": len(paths),
        },
    )
    for path, drive in zip(paths, drives, strict=True):
        mock.put(path, {"@odata.id": path, "Name": drive["Id"], **drive})
    return mock


def _reset_path(vendor: Vendor) -> str:
    return f"{vendor.system}/Actions/ComputerSystem.Reset"


def _conflicting_reset(vendor: Vendor) -> Action:
    """On while not off answers 409 "already on"; ForceOff while off "already off"."""

    def act(mock: RedfishMock, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        state = mock.get(vendor.system)["PowerState"]
        kind = body.get("ResetType")
        if kind == "On":
            if state != "Off":
                return 409, ALREADY_ON
            mock.update(vendor.system, {"PowerState": "On"})
        elif kind in ("ForceOff", "GracefulShutdown"):
            if state == "Off":
                return 409, ALREADY_OFF
            mock.update(vendor.system, {"PowerState": "Off"})
        else:
            mock.update(vendor.system, {"PowerState": "On"})
        return 204, None

    return act
