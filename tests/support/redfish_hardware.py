"""Inventory subtrees (Processors, EthernetInterfaces, Storage, Chassis) shaped like
captures of real BMCs, with made-up identifiers and values (reference, not copies):

- Dell R650, iDRAC 9 5.10 (Redfish Mockup Creator capture in michzimm/redfish_simgen):
  a Processor per socket (``CPU.Socket.N``, TotalCores 28, TotalThreads 56); drive ids
  with ``:`` (``Disk.Bay.0:Enclosure.Internal.0-1:RAID.SL.3-1``); NVMe drives under
  ``Storage/CPU.1``; AHCI controllers with ``Drives: []``; NICs ``LinkUp`` and
  ``LinkDown``; the enclosure Chassis linking the NVMe drives again (``Links.Drives``).
- HPE DL360 Gen10 Plus, iLO 5 2.55 (same repository): weak ETags (``W/"…"``) on most
  resources and a strong one on a storage controller; a NIC with ``LinkStatus: null``.
- Supermicro X13 (bmc-toolbox/bmclib ``internal/redfishwrapper/fixtures``): NVMe
  drives that live under a Chassis (``Chassis/NVMeSSD.0.Group.0.StorageBackplane``)
  listed by ``Storage/NVMeSSD``; NICs without LinkStatus; plus a GPU in Processors.
- Cisco UCS C220 M5, CIMC 4.1 (akaliwod/iserver crawl): TotalThreads equal to
  TotalCores (no SMT); NICs without LinkStatus; a RAID controller listing an empty
  bay that answers 404; the Chassis linking the same drives; an M.2 controller with
  no ``Drives`` property.

``HARDWARE[vendor](system, chassis)`` gives the system's links and the resources;
``EXPECTED[vendor]`` what Strata should report of them; ``boot`` and ``reset_action``
the vendor's ``Boot`` object and Reset action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.redfish_vendors import Vendor

__all__ = [
    "EXPECTED",
    "HARDWARE",
    "Expected",
    "Hardware",
    "boot",
    "reset_action",
    "reset_action_info",
]

Tree = dict[str, dict[str, Any]]
_ABSENT = object()
TB = 10**12


@dataclass(frozen=True)
class Hardware:
    system: dict[str, Any]  # merged into the ComputerSystem
    resources: Tree
    etags: dict[str, str]  # path -> "weak" or "strong", where it differs from the vendor's


@dataclass(frozen=True)
class Expected:
    sockets: int
    cores: int
    threads: int
    serials: tuple[str, ...]  # every reported disk's serial number, in order
    links: dict[str, str]  # MAC -> link


def _ref(path: str) -> dict[str, str]:
    return {"@odata.id": path}


def _collection(path: str, members: list[str]) -> dict[str, Any]:
    return {
        "@odata.id": path,
        "Members": [_ref(m) for m in members],
        "Members@odata.count": len(members),
    }


def _cpu(path: str, cores: int, threads: int, kind: str = "CPU") -> dict[str, Any]:
    return {
        "@odata.id": path,
        "Id": path.rsplit("/", 1)[1],
        "ProcessorType": kind,
        "Status": {"State": "Enabled", "Health": "OK"},
        "TotalCores": cores,
        "TotalThreads": threads,
    }


def _nic(path: str, mac: str, link: object = _ABSENT) -> dict[str, Any]:
    nic = {"@odata.id": path, "Id": path.rsplit("/", 1)[1], "MACAddress": mac}
    if link is not _ABSENT:
        nic["LinkStatus"] = link
    return nic


def _drive(path: str, size: int, model: str, serial: str, media: str) -> dict[str, Any]:
    return {
        "@odata.id": path,
        "Id": path.rsplit("/", 1)[1],
        "Name": f"{media} {serial[-4:]}",
        "CapacityBytes": size,
        "Model": model,
        "SerialNumber": serial,
        "MediaType": media,
        "Protocol": "NVMe" if media == "SSD" else "SAS",
    }


def _storage(path: str, drives: list[str] | None) -> dict[str, Any]:
    storage: dict[str, Any] = {"@odata.id": path, "Id": path.rsplit("/", 1)[1], "Name": "Ctl"}
    if drives is not None:
        storage["Drives"] = [_ref(d) for d in drives]
        storage["Drives@odata.count"] = len(drives)
    return storage


def _assemble(
    system: str, cpus: list[dict[str, Any]], nics: list[dict[str, Any]], storages: Tree
) -> tuple[dict[str, Any], Tree]:
    """The system's links and the collections for its processors, NICs and storage."""
    tree: Tree = {c["@odata.id"]: c for c in [*cpus, *nics]}
    tree.update(storages)
    for name, members in (
        ("Processors", [c["@odata.id"] for c in cpus]),
        ("EthernetInterfaces", [n["@odata.id"] for n in nics]),
        ("Storage", list(storages)),
    ):
        tree[f"{system}/{name}"] = _collection(f"{system}/{name}", members)
    links = {n: _ref(f"{system}/{n}") for n in ("Processors", "EthernetInterfaces", "Storage")}
    return links, tree


def dell(system: str, chassis: str) -> Hardware:
    s = f"{system}/Storage"
    raid, nvme, ahci = f"{s}/RAID.SL.3-1", f"{s}/CPU.1", f"{s}/AHCI.Embedded.1-1"
    enclosure = "/redfish/v1/Chassis/Enclosure.Internal.0-1"
    hdd = f"{raid}/Drives/Disk.Bay.0:Enclosure.Internal.0-1:RAID.SL.3-1"
    ssds = [f"{nvme}/Drives/Disk.Bay.{n}:Enclosure.Internal.0-1" for n in (8, 9)]
    drives = [
        _drive(hdd, 2 * TB, "ST2000NM000B", "ZAB0TEST", "HDD"),
        *(
            _drive(p, 16 * TB // 10, "Dell Ent NVMe U.2 1.6TB", f"S6NVTEST{i}", "SSD")
            for i, p in enumerate(ssds)
        ),
    ]
    links, tree = _assemble(
        system,
        [_cpu(f"{system}/Processors/CPU.Socket.{n}", 28, 56) for n in (1, 2)],
        [
            _nic(
                f"{system}/EthernetInterfaces/NIC.Integrated.1-1-1", "B8:CE:F6:00:00:01", "LinkUp"
            ),
            _nic(
                f"{system}/EthernetInterfaces/NIC.Embedded.1-1-1", "70:B5:E8:00:00:02", "LinkDown"
            ),
        ],
        {raid: _storage(raid, [hdd]), nvme: _storage(nvme, ssds), ahci: _storage(ahci, [])},
    )
    tree.update({d["@odata.id"]: d for d in drives})
    tree[chassis] = {
        "@odata.id": chassis,
        "Id": chassis.rsplit("/", 1)[1],
        "Links": {"Contains": [_ref(enclosure)]},
    }
    tree[enclosure] = {
        "@odata.id": enclosure,
        "Id": "Enclosure.Internal.0-1",
        "Links": {"Drives": [_ref(p) for p in ssds]},
    }
    system_json = {
        **links,
        "ProcessorSummary": {"Count": 2, "LogicalProcessorCount": 112},
        "Links": {"Chassis": [_ref(chassis)]},
    }
    return Hardware(system_json, tree, {})


def hpe(system: str, chassis: str) -> Hardware:
    s = f"{system}/Storage"
    mr, boot = f"{s}/DE00A000", f"{s}/DE009000"
    sas = [f"{mr}/Drives/{n}" for n in (0, 1)]
    m2 = [f"{boot}/Drives/{n}" for n in (1, 2)]
    drives = [
        *(
            _drive(p, 12 * TB // 10, "EG001200JWJNQ", f"WFK0TEST{i}", "HDD")
            for i, p in enumerate(sas)
        ),
        *(_drive(p, 480 * 10**9, "VS000480KXALB", f"FS0ATEST{i}", "SSD") for i, p in enumerate(m2)),
    ]
    links, tree = _assemble(
        system,
        [_cpu(f"{system}/Processors/{n}", 28, 56) for n in (1, 2)],
        [
            _nic(f"{system}/EthernetInterfaces/1", "68:05:ca:00:00:7c", "LinkUp"),
            _nic(f"{system}/EthernetInterfaces/3", "68:05:ca:00:00:7e", None),
        ],
        {mr: _storage(mr, sas), boot: _storage(boot, m2)},
    )
    tree.update({d["@odata.id"]: d for d in drives})
    tree[chassis] = {"@odata.id": chassis, "Id": "1", "Links": {}}
    system_json = {**links, "ProcessorSummary": {"Count": 2}, "Links": {"Chassis": [_ref(chassis)]}}
    return Hardware(system_json, tree, {mr: "strong"})


def supermicro(system: str, chassis: str) -> Hardware:
    nvme = f"{system}/Storage/NVMeSSD"
    backplane = "/redfish/v1/Chassis/NVMeSSD.0.Group.0.StorageBackplane"
    bays = [f"{backplane}/Drives/Disk.Bay.{n}" for n in (2, 3)]
    drives = [
        _drive(p, 64 * TB // 10, "KIOXIA KCD8XVUG6T40", f"X13TEST{i}", "SSD")
        for i, p in enumerate(bays)
    ]
    links, tree = _assemble(
        system,
        [
            _cpu(f"{system}/Processors/1", 32, 64),
            _cpu(f"{system}/Processors/GPU1", 0, 0, kind="GPU"),
        ],
        [_nic(f"{system}/EthernetInterfaces/{n}", f"3c:ec:ef:00:00:0{n}") for n in (1, 2)],
        {nvme: _storage(nvme, bays)},
    )
    tree.update({d["@odata.id"]: d for d in drives})
    tree[chassis] = {"@odata.id": chassis, "Id": "1", "Links": {}}
    system_json = {**links, "ProcessorSummary": {"Count": 1}, "Links": {"Chassis": [_ref(chassis)]}}
    return Hardware(system_json, tree, {})


def cisco(system: str, chassis: str) -> Hardware:
    mraid, m2 = f"{system}/Storage/MRAID", f"{system}/Storage/MSTOR-RAID"
    bays = [f"{mraid}/Drives/{n}" for n in (1, 2)]
    empty_bay = f"{mraid}/Drives/10"  # listed, answers 404
    drives = [
        _drive(p, 240 * 10**9, "UCS-SD240GTEST", f"S3LKTEST{i}      ", "HDD")
        for i, p in enumerate(bays)
    ]
    links, tree = _assemble(
        system,
        [_cpu(f"{system}/Processors/CPU{n}", 22, 22) for n in (1, 2)],
        [
            _nic(f"{system}/EthernetInterfaces/{n}", f"3c:fd:fe:00:00:a{i}")
            for i, n in enumerate(("1.1", "L.1"))
        ],
        {mraid: _storage(mraid, [*bays, empty_bay]), m2: _storage(m2, None)},
    )
    tree.update({d["@odata.id"]: d for d in drives})
    tree[chassis] = {"@odata.id": chassis, "Id": "1", "Links": {"Drives": [_ref(p) for p in bays]}}
    system_json = {**links, "ProcessorSummary": {"Count": 2}, "Links": {"Chassis": [_ref(chassis)]}}
    return Hardware(system_json, tree, {})


HARDWARE: dict[str, Callable[[str, str], Hardware]] = {
    "dell-idrac9": dell,
    "hpe-ilo5": hpe,
    "supermicro-x13": supermicro,
    "cisco-cimc": cisco,
}
EXPECTED = {
    "dell-idrac9": Expected(
        2,
        56,
        112,
        ("ZAB0TEST", "S6NVTEST0", "S6NVTEST1"),
        {"b8:ce:f6:00:00:01": "up", "70:b5:e8:00:00:02": "down"},
    ),
    "hpe-ilo5": Expected(
        2,
        56,
        112,
        ("WFK0TEST0", "WFK0TEST1", "FS0ATEST0", "FS0ATEST1"),
        {"68:05:ca:00:00:7c": "up", "68:05:ca:00:00:7e": "unknown"},
    ),
    "supermicro-x13": Expected(
        1,
        32,
        64,
        ("X13TEST0", "X13TEST1"),
        {"3c:ec:ef:00:00:01": "unknown", "3c:ec:ef:00:00:02": "unknown"},
    ),
    "cisco-cimc": Expected(
        2,
        44,
        44,
        ("S3LKTEST0", "S3LKTEST1"),
        {"3c:fd:fe:00:00:a0": "unknown", "3c:fd:fe:00:00:a1": "unknown"},
    ),
}


def boot(v: Vendor) -> dict[str, Any]:
    """The ComputerSystem ``Boot`` object (DSP0268) as the vendor shows it."""
    boot: dict[str, Any] = {
        "BootSourceOverrideTarget": "None",
        "BootSourceOverrideTarget@Redfish.AllowableValues": list(v.boot_targets),
        "BootSourceOverrideEnabled": "Disabled",
    }
    if v.boot_enabled_values is not None:
        boot["BootSourceOverrideEnabled@Redfish.AllowableValues"] = list(v.boot_enabled_values)
    if v.boot_mode:
        boot["BootSourceOverrideMode"] = "UEFI"
    return boot


def reset_action(v: Vendor) -> dict[str, Any]:
    """The ``#ComputerSystem.Reset`` action object, malformed values and all."""
    action: dict[str, Any] = {
        "target": f"{v.system}/Actions/ComputerSystem.Reset",
        "ResetType@Redfish.AllowableValues": list(v.reset_types),
    }
    if v.reset_action_info:
        action["@Redfish.ActionInfo"] = f"{v.system}/ResetActionInfo"
    return action


def reset_action_info(v: Vendor) -> dict[str, Any]:
    """An ActionInfo resource (DSP0268 ActionInfo) listing the well-formed values."""
    return {
        "@odata.id": f"{v.system}/ResetActionInfo",
        "Id": "ResetActionInfo",
        "Name": "Reset Action Info",
        "Parameters": [
            {
                "Name": "ResetType",
                "Required": True,
                "DataType": "String",
                "AllowableValues": list(v.offered_resets),
            }
        ],
    }
