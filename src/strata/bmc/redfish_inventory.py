"""Read a Redfish system's inventory: identity, CPUs, memory, NICs, disks, BMC firmware.

Optional parts a BMC may not implement (Storage, SimpleStorage, Processors)
are read when present; a missing or failing optional part leaves its field
empty and is logged, while authentication and connection faults still stop
the whole read. Every value leaves in the normal form of ``strata.bmc.normal``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sushy import exceptions as sushy_exc

from strata.bmc import normal
from strata.bmc.types import BMCTarget, DiskInfo, Inventory, NICInfo

__all__ = ["read_inventory"]

T = TypeVar("T")
_OPTIONAL = (
    sushy_exc.MissingAttributeError,
    sushy_exc.ResourceNotFoundError,
    sushy_exc.ServerSideError,
    sushy_exc.BadRequestError,
)
# EthernetInterface.LinkStatus (DSP0268): LinkUp, LinkDown, NoLink.
_LINK = {"LinkUp": "up", "LinkDown": "down", "NoLink": "down"}


def read_inventory(system: Any, log: logging.Logger, target: BMCTarget) -> Inventory:
    def optional(what: str, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except _OPTIONAL as exc:
            log.info(
                "bmc inventory node=%s bmc=%s part=%s unavailable=%s",
                target.node,
                target.address,
                what,
                type(exc).__name__,
            )
            return default

    memory = system.memory_summary
    return Inventory(
        manufacturer=normal.text(system.manufacturer),
        model=normal.text(system.model),
        serial_number=normal.text(system.serial_number),
        cpu_count=optional("processors", lambda: system.processors.summary.count, None),
        memory_gib=memory.size_gib if memory is not None else None,
        bmc_firmware=optional(
            "manager", lambda: normal.text(system.managers[0].firmware_version), None
        ),
        nics=optional("nics", lambda: _nics(system), ()),
        disks=optional("storage", lambda: _disks(system), ()),
    )


def _nics(system: Any) -> tuple[NICInfo, ...]:
    out = []
    for nic in system.ethernet_interfaces.get_members():
        mac = normal.mac(nic.mac_address) or normal.mac(nic.permanent_mac_address)
        if mac:
            link = _LINK.get(str(nic.json.get("LinkStatus")), "unknown")
            out.append(NICInfo(mac=mac, link=link, name=nic.identity))
    return tuple(out)


def _disks(system: Any) -> tuple[DiskInfo, ...]:
    try:
        storages = system.storage.get_members()
    except _OPTIONAL:
        return tuple(
            DiskInfo(
                normal.text(d.name), normal.size_bytes(d.capacity_bytes), normal.text(d.model), None
            )
            for s in system.simple_storage.get_members()
            for d in s.devices
        )
    return tuple(
        DiskInfo(
            name=normal.text(d.name) or normal.text(d.identity),
            size_bytes=normal.size_bytes(d.capacity_bytes),
            model=normal.text(d.model),
            serial_number=normal.text(d.serial_number),
            rotational=(str(d.media_type) == "HDD") if d.media_type else None,
        )
        for s in storages
        for d in s.drives
    )
