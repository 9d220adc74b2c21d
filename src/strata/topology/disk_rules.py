"""The disk to install to, checked at validate as far as the file can tell.

On the machine, root device hints are resolved against its real disks and the install
refuses when no disk or several match (``strata/ignition/root-device.sh``). What the
file alone decides is refused here first:
- hints that can match no disk by construction: an empty value, a control character, a
  ``deviceName`` outside /dev or naming a partition, an ``hctl`` that is no H:C:T:L, a
  ``wwn`` that is no WWN — and an ``installDisk`` outside /dev or naming a partition;
- a Fedora CoreOS or RHCOS node with no disk at all (no ``installDisk``, hints or
  ``disks``): coreos-installer needs one, Flatcar's installer picks the smallest;
- a node that lists its ``disks`` where the hints surely match none, or surely match more
  than one (``root_device.choose``), or whose ``installDisk`` is none of them.
``installDisk`` beside ``rootDeviceHints`` at one level is refused by the schema
(settings.py); at different levels the nearer one wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from strata.topology.diagnostics import Diagnostics, Path
from strata.topology.model import Disk, Node, Topology
from strata.topology.origins import written_at
from strata.topology.root_device import DiskFacts, choose, describe
from strata.topology.settings import NodeSettings, RootDeviceHints
from strata.topology.spec import TopologySpec
from strata.topology.written import written_settings

__all__ = ["check_install_disks"]

CORE_OS = ("fcos", "rhcos")  # coreos-installer: the disk must be named or chosen
_HCTL = re.compile(r"^\d+:\d+:\d+:\d+$")  # SCSI host:channel:target:lun (lsblk HCTL)
# udev's ID_WWN (0x + 16 hex digits, 32 with the vendor extension) or sysfs wwid (naa./eui.).
_WWN = re.compile(r"^(0x)?[0-9a-fA-F]{16}([0-9a-fA-F]{16})?$|^(naa|eui)\.[0-9a-fA-F]{16,32}$")
# Partitions: sda1, vdb2, nvme0n1p1, mmcblk0p1; a /dev/disk link ending -partN.
_PARTITION = re.compile(
    r"^/dev/((s|v|xv|h)d[a-z]+\d+|(nvme\d+n\d+|mmcblk\d+|nbd\d+)p\d+|disk/.+-part\d+)$"
)

Finding = tuple[Path, str, str | None]


def check_install_disks(spec: TopologySpec, topology: Topology, diags: Diagnostics) -> None:
    for where, settings in written_settings(spec):
        for path, message, hint in _written(where, settings):
            diags.error(path, message, hint)
    reported: set[tuple[Path, str]] = set()
    for node in topology.nodes:
        for path, message, hint in _node(spec, node, diags):
            if (path, message) not in reported:
                reported.add((path, message))
                diags.error(path, message, hint)


def _written(where: Path, settings: NodeSettings) -> Iterator[Finding]:
    """What a ``defaults`` block or node entry writes that can name no disk."""
    if settings.install_disk is not None:
        yield from _device((*where, "installDisk"), settings.install_disk, "installDisk")
    hints = settings.root_device_hints
    if hints is not None:
        yield from _hints((*where, "rootDeviceHints"), hints)


def _hints(at: Path, hints: RootDeviceHints) -> Iterator[Finding]:
    written = hints.model_dump(by_alias=True, exclude_none=True)
    for key, value in written.items():
        if isinstance(value, str) and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            yield (*at, key), "holds a control character: it matches no disk", None
        elif isinstance(value, str) and not value.strip():
            yield (*at, key), "is empty: it matches no disk", "give a value, or leave the hint out"
    device = hints.device_name
    if device is not None and device.strip():
        yield from _device((*at, "deviceName"), device, "deviceName")
    if hints.hctl is not None and hints.hctl.strip() and not _HCTL.match(hints.hctl.strip()):
        yield (
            (*at, "hctl"),
            f"'{hints.hctl}' is no SCSI address",
            "host:channel:target:lun, e.g. 0:0:0:0",
        )
    if hints.wwn is not None and hints.wwn.strip() and not _WWN.match(hints.wwn.strip()):
        yield (
            (*at, "wwn"),
            f"'{hints.wwn}' is no World Wide Name",
            "0x and 16 or 32 hex digits (udev's ID_WWN, e.g. 0x5002538e40a1b2c3), or naa./eui. "
            "and hex digits (sysfs wwid)",
        )


def _device(at: Path, name: str, what: str) -> Iterator[Finding]:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return  # reported as a control character (hints) or by the kernel name check below
    if not name.startswith("/dev/"):
        yield at, f"{what} '{name}' is not a device path", f"write /dev/{name.lstrip('/')}"
    elif _PARTITION.match(name):
        yield at, f"{what} '{name}' is a partition; the OS installs to a whole disk", None


def _node(spec: TopologySpec, node: Node, diags: Diagnostics) -> Iterator[Finding]:
    hints = node.root_device_hints
    if node.install_disk is None and hints is None:
        if node.os.name in CORE_OS:
            yield (
                node.source,
                f"{node.os.name} installs to a disk it is told, and this node names none",
                "set installDisk (e.g. /dev/sda), rootDeviceHints (e.g. {serialNumber: …}) "
                "or list the node's disks",
            )
        return
    if not node.disks:
        return
    at: Path = (*node.source, "disks")
    target = written_at(
        spec,
        node.source,
        lambda s: s.install_disk or s.root_device_hints,
        ("rootDeviceHints",) if hints is not None else ("installDisk",),
    )
    line, _ = diags.positions.locate(diags.remap(target))
    if hints is None:
        yield from _named(at, node, line)
    else:
        yield from _hinted(at, node, hints, line)


def _named(at: Path, node: Node, line: int) -> Iterator[Finding]:
    name = node.install_disk or ""
    names = [d.name for d in node.disks]
    if name.startswith("/dev/disk/") or name in names:
        return  # a by-id/by-path link cannot be checked against the names listed
    yield (
        at,
        f"installDisk {name} (line {line}) is none of the disks listed here ({', '.join(names)})",
        "name one of them, or correct the list",
    )


def _hinted(at: Path, node: Node, hints: RootDeviceHints, line: int) -> Iterator[Finding]:
    written = hints.model_dump(by_alias=True, exclude_none=True)
    choice = choose(written, [_facts(d) for d in node.disks])
    shown = f"rootDeviceHints ({describe(written)}; line {line})"
    if not choice.possible:
        yield (
            at,
            f"no disk listed here can match {shown}: the install would refuse",
            "correct the hints or the list of disks",
        )
    elif len(choice.sure) > 1:
        names = ", ".join(d.label for d in choice.sure)
        yield (
            at,
            f"{len(choice.sure)} disks listed here match {shown} ({names}): the install "
            "would refuse",
            "narrow the hints, e.g. with serialNumber",
        )


def _facts(disk: Disk) -> DiskFacts:
    """A disk as topology.yaml lists it; its size is nominal GB (sizeGigabytes)."""
    return DiskFacts(
        label=disk.name,
        name=disk.name,
        size_bytes=disk.size_gigabytes * 10**9 if disk.size_gigabytes else None,
        model=disk.model,
        serial=disk.serial_number,
        rotational=disk.rotational,
    )
