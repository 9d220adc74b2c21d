"""Virtual media on a Redfish BMC: find the virtual CD, insert an image, eject it.

Where vendors differ (VirtualMedia schema, DSP0268): the collection hangs off
the System (newer layout, sushy-tools, iDRAC 6+) or off its Managers (iDRAC
before 6, iLO, XCC, Supermicro); an image goes in by the ``InsertMedia`` action
or, where a resource has no action but answers ``Allow: PATCH``, by a PATCH of
``Image`` and ``Inserted``. sushy's action path sends only ``Image`` (adding
``TransferProtocolType`` when the BMC asks for it); its PATCH path always names
``Inserted`` and ``WriteProtected``, which a resource without them refuses, so
the PATCH body is built here from what the resource has (``redfish_patch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sushy
from sushy import exceptions as sushy_exc

from strata.bmc.redfish_patch import Want, patch_body

__all__ = ["NoDrive", "eject", "find_cd", "insert"]

_CD_TYPES = {sushy.VIRTUAL_MEDIA_CD, sushy.VIRTUAL_MEDIA_DVD}


class NoDrive(Exception):
    """The BMC has no virtual CD or DVD drive, or no way to load one."""


def find_cd(system: Any) -> Any:
    """The first virtual CD/DVD drive: the System's own collection first, then its
    Managers'. Raises ``NoDrive``."""
    for collection in _media_collections(system):
        for device in collection.get_members():
            if _CD_TYPES & set(device.media_types or ()):
                return device
    raise NoDrive("no virtual CD or DVD drive")


def insert(device: Any, url: str) -> None:
    """Load ``url`` (read-only where the drive lets that be chosen); nothing to do when
    it is already loaded. Raises ``redfish_patch.Refused`` or ``NoDrive``."""
    if device.inserted and device.image == url:
        return
    if device.inserted:
        eject(device)
    if _has_action(device, "#VirtualMedia.InsertMedia"):
        device.insert_media(url, inserted=True, write_protected=True)
        return
    body, _ = patch_body(
        device.json,
        {"Image": Want(url, required=True), "Inserted": Want(True), "WriteProtected": Want(True)},
    )
    _patch(device, body)


def eject(device: Any) -> None:
    """Unload the drive; nothing to do when it is empty."""
    if not device.inserted:
        return
    if _has_action(device, "#VirtualMedia.EjectMedia"):
        device.eject_media()
        return
    body, _ = patch_body(device.json, {"Image": Want(None), "Inserted": Want(False)})
    if not body:
        raise NoDrive("the drive has neither an EjectMedia action nor Image or Inserted")
    _patch(device, body)


def _has_action(device: Any, name: str) -> bool:
    actions = device.json.get("Actions")
    return isinstance(actions, dict) and isinstance(actions.get(name), dict)


def _patch(device: Any, body: dict[str, object]) -> None:
    """PATCH the drive with ``body`` through sushy's connection (If-Match its ETag).

    sushy offers no public PATCH of a resource; its own VirtualMedia PATCH is the
    one that names properties the drive may not have (see the module docstring).
    """
    if not device._allow_patch():
        raise NoDrive("the drive has no InsertMedia action and does not allow PATCH")
    device._conn.patch(device.path, data=body, etag=device._get_etag())
    device.invalidate()


def _media_collections(system: Any) -> Iterator[Any]:
    """VirtualMedia collections: the System's own first, then its Managers'."""
    readers: tuple[Callable[[], list[Any]], ...] = (
        lambda: [system.virtual_media],
        lambda: [manager.virtual_media for manager in system.managers],
    )
    for read in readers:
        try:
            found = read()
        except (sushy_exc.MissingAttributeError, sushy_exc.ResourceNotFoundError):
            continue
        yield from found
