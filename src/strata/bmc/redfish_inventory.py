"""Read a Redfish system's inventory: identity, CPUs, memory, NICs, disks, BMC firmware.

Optional parts a BMC may not implement (Storage, SimpleStorage, Processors)
are read when present; a missing or failing optional part leaves its field
empty and is logged, while authentication and connection faults still stop
the whole read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sushy import exceptions as sushy_exc

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
        manufacturer=system.manufacturer,
        model=system.model,
        serial_number=system.serial_number,
        cpu_count=optional("processors", lambda: system.processors.summary.count, None),
        memory_gib=memory.size_gib if memory is not None else None,
        bmc_firmware=optional("manager", lambda: system.managers[0].firmware_version, None),
        nics=optional("nics", lambda: _nics(system), ()),
        disks=optional("storage", lambda: _disks(system), ()),
    )


def _nics(system: Any) -> tuple[NICInfo, ...]:
    out = []
    for nic in system.ethernet_interfaces.get_members():
        mac = nic.mac_address or nic.permanent_mac_address
        if mac:
            link = _LINK.get(str(nic.json.get("LinkStatus")), "unknown")
            out.append(NICInfo(mac=mac.lower(), link=link, name=nic.identity))
    return tuple(out)


def _disks(system: Any) -> tuple[DiskInfo, ...]:
    try:
        storages = system.storage.get_members()
    except _OPTIONAL:
        return tuple(
            DiskInfo(d.name, d.capacity_bytes, None, None)
            for s in system.simple_storage.get_members()
            for d in s.devices
        )
    return tuple(
        DiskInfo(
            name=d.name or d.identity,
            size_bytes=d.capacity_bytes,
            model=d.model,
            serial_number=d.serial_number,
            rotational=(str(d.media_type) == "HDD") if d.media_type else None,
        )
        for s in storages
        for d in s.drives
    )
