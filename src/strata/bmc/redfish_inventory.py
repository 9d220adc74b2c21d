"""Read a Redfish system's inventory: identity, CPUs, memory, NICs, disks, BMC firmware.

Optional parts a BMC may not implement (Storage, SimpleStorage, Processors,
Chassis) are read when present; a missing or failing optional part leaves its
field empty and is logged, while authentication and connection faults still stop
the whole read. Every value leaves in the normal form of ``strata.bmc.normal``.

Shapes real BMCs serve (DSP0268 schemas; Dell iDRAC 9, HPE iLO 5, Supermicro X13
and Cisco CIMC captures):

- CPUs: one Processor per socket with ``TotalCores`` and ``TotalThreads``
  (sushy's ``processors.summary.count`` adds up threads: 112 on a 2 x 28-core
  Dell); GPUs and empty sockets are members too, and are not counted; a total a
  member leaves out (or null) is the ProcessorSummary's, where it gives one;
- disks: each Storage member's ``Drives`` (ids such as
  ``Disk.Bay.8:Enclosure.Internal.0-1``; NVMe drives under ``Storage/CPU.1``;
  controllers with no drives or no ``Drives`` at all; Drives living under a
  Chassis), then drives the system's Chassis link (``Links.Drives``) that no
  Storage lists; a drive is the same drive however its link is written (with a
  trailing ``/``, a query such as ``?$expand=.``, or as an absolute URL); a listed
  drive that answers 404 (CIMC lists empty bays) is skipped and logged;
- NICs: ``LinkStatus`` ``LinkUp``, ``LinkDown``, ``NoLink``, ``null`` or absent.

A part written in a shape the schema does not allow (a ``Status`` that is a string, a
``Links`` that is a list) is read as far as it makes sense, else left empty and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sushy import exceptions as sushy_exc
from sushy.resources.system.storage.drive import Drive

from strata.bmc import normal
from strata.bmc.types import BMCTarget, DiskInfo, Inventory, NICInfo

__all__ = ["read_inventory"]

T = TypeVar("T")
_OPTIONAL = (
    sushy_exc.MissingAttributeError,
    sushy_exc.ResourceNotFoundError,
    sushy_exc.ServerSideError,
    sushy_exc.BadRequestError,
    sushy_exc.MalformedAttributeError,
)
# A part in a shape sushy's (or this module's) reading does not expect.
_MALFORMED = (TypeError, AttributeError, ValueError, KeyError)
# EthernetInterface.LinkStatus (DSP0268): LinkUp, LinkDown, NoLink.
_LINK = {"LinkUp": "up", "LinkDown": "down", "NoLink": "down"}
CPUs = tuple[int | None, int | None, int | None]  # sockets, cores, threads


def read_inventory(system: Any, log: logging.Logger, target: BMCTarget) -> Inventory:
    def optional(what: str, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except _OPTIONAL as exc:
            note(what, type(exc).__name__)
        except _MALFORMED as exc:
            note(what, f"{type(exc).__name__}: {exc}")
        return default

    def note(what: str, why: str) -> None:
        log.info(
            "bmc inventory node=%s bmc=%s part=%s unavailable=%s",
            target.node,
            target.address,
            what,
            why,
        )

    memory = system.memory_summary
    sockets, cores, threads = optional(
        "processors", lambda: _cpus(system), _cpu_summary(system.json)
    )
    return Inventory(
        manufacturer=normal.text(system.manufacturer),
        model=normal.text(system.model),
        serial_number=normal.text(system.serial_number),
        cpu_threads=threads,
        memory_gib=memory.size_gib if memory is not None else None,
        bmc_firmware=optional(
            "manager", lambda: normal.text(system.managers[0].firmware_version), None
        ),
        nics=optional("nics", lambda: _nics(system), ()),
        disks=optional("storage", lambda: _disks(system, note), ()),
        cpu_sockets=sockets,
        cpu_cores=cores,
    )


def _cpus(system: Any) -> CPUs:
    """Sockets, cores and threads from the Processors collection (DSP0268 Processor:
    ``ProcessorType``, ``Status.State``, ``TotalCores``, ``TotalThreads``), its members
    read as plain JSON (sushy's Processor fails on a ``Status`` that is no object).
    Counts members that are CPUs (or say no type, or null) and are not ``Absent``; a
    total a counted member lacks is the ProcessorSummary's (None if it has none). No
    CPU member: the system's ProcessorSummary."""
    members = [_json(system, path) for path in system.processors.members_identities]
    cpus = [
        p
        for p in members
        if p.get("ProcessorType") in (None, "CPU") and _get(p.get("Status"), "State") != "Absent"
    ]
    summary = _cpu_summary(system.json)
    if not cpus:
        return summary
    cores = _total(c.get("TotalCores") for c in cpus)
    threads = _total(c.get("TotalThreads") for c in cpus)
    return (
        len(cpus),
        cores if cores is not None else summary[1],
        threads if threads is not None else summary[2],
    )


def _cpu_summary(system_json: dict[str, Any]) -> CPUs:
    """From ComputerSystem.ProcessorSummary (DSP0268): ``Count`` (physical processors),
    ``CoreCount`` and ``LogicalProcessorCount``, where the BMC gives them."""
    summary = system_json.get("ProcessorSummary")
    return (
        _count(_get(summary, "Count")),
        _count(_get(summary, "CoreCount")),
        _count(_get(summary, "LogicalProcessorCount")),
    )


def _count(value: object) -> int | None:
    """A count as a whole number (``22.0`` is 22); None when it is none."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _total(values: Iterable[object]) -> int | None:
    numbers = [_count(v) for v in values]
    return sum(n for n in numbers if n is not None) if None not in numbers else None


def _get(obj: object, key: str) -> Any:
    """``obj[key]`` when ``obj`` is a JSON object that has it, else None."""
    return obj.get(key) if isinstance(obj, dict) else None


def _json(system: Any, path: str) -> dict[str, Any]:
    """A linked resource as plain JSON, as sushy reads any resource ({} if no object)."""
    body = system._conn.get(path).json()  # sushy offers no public way to open a link
    return body if isinstance(body, dict) else {}


def _nics(system: Any) -> tuple[NICInfo, ...]:
    out = []
    for nic in system.ethernet_interfaces.get_members():
        mac = normal.mac(nic.mac_address) or normal.mac(nic.permanent_mac_address)
        if mac:
            link = _LINK.get(str(nic.json.get("LinkStatus")), "unknown")
            out.append(NICInfo(mac=mac, link=link, name=nic.identity))
    return tuple(out)


def _disks(system: Any, note: Callable[[str, str], None]) -> tuple[DiskInfo, ...]:
    """The drives of every Storage member and of the system's Chassis, each once (by
    its path: ``_path``); the SimpleStorage devices when the system has no Storage at
    all."""
    try:
        storages = system.storage.get_members()
    except _OPTIONAL:
        storages = None
    listed = [p for s in storages or () for p in _refs(_get(s.json, "Drives"))]
    paths = list(dict.fromkeys(_path(p) for p in [*listed, *_chassis_drives(system, note)]))
    if storages is None and not paths:
        return _simple_disks(system)
    disks = []
    for path in paths:
        try:
            drive = Drive(
                system._conn,  # sushy offers no public way to open a linked resource
                path,
                redfish_version=system.redfish_version,
                registries=system.registries,
                root=system.root,
            )
        except (*_OPTIONAL, *_MALFORMED) as exc:
            note(f"drive {path}", type(exc).__name__)
            continue
        disks.append(_disk(drive))
    return tuple(disks)


def _chassis_drives(system: Any, note: Callable[[str, str], None]) -> Iterator[str]:
    """Drive URIs the system's Chassis link (Chassis ``Links.Drives``, DSP0268). Read as
    plain JSON: sushy's Chassis insists on properties (ChassisType, Name) some BMCs'
    enclosures leave out, and only the links are wanted here."""
    for path in _refs(_get(system.json.get("Links"), "Chassis")):
        try:
            links = _json(system, path).get("Links")
        except (*_OPTIONAL, ValueError) as exc:
            note(f"chassis {path}", type(exc).__name__)
            continue
        if links is not None and not isinstance(links, dict):
            note(f"chassis {path}", f"Links is a {type(links).__name__}, not an object")
            continue
        yield from _refs(_get(links, "Drives"))


def _refs(links: object) -> list[str]:
    """The ``@odata.id`` of each link in a list of links."""
    if not isinstance(links, list):
        return []
    return [
        link["@odata.id"]
        for link in links
        if isinstance(link, dict) and isinstance(link.get("@odata.id"), str)
    ]


def _path(link: str) -> str:
    """A link's path, the same however it is written: no scheme and host, no query or
    fragment, no trailing ``/`` (RFC 3986; DSP0266 serves a resource at one URI)."""
    return urlsplit(link).path.rstrip("/") or "/"


def _disk(d: Any) -> DiskInfo:
    return DiskInfo(
        name=normal.text(d.name) or normal.text(d.identity),
        size_bytes=normal.size_bytes(d.capacity_bytes),
        model=normal.text(d.model),
        serial_number=normal.text(d.serial_number),
        rotational=(str(d.media_type) == "HDD") if d.media_type else None,
    )


def _simple_disks(system: Any) -> tuple[DiskInfo, ...]:
    return tuple(
        DiskInfo(
            normal.text(d.name), normal.size_bytes(d.capacity_bytes), normal.text(d.model), None
        )
        for s in system.simple_storage.get_members()
        for d in s.devices
    )
