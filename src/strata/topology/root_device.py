"""Root device hints against a disk's properties: does this disk match, surely or maybe?

Built the way Ironic's agent picks a root device (ironic-lib ``utils.find_devices_by_hints``
and ``parse_root_device_hints``): every hint must hold; string hints are compared
stripped and lower-cased, a disk that lacks the property a hint names does not match
it. Strata's own hint semantics (docs/topology.md, "Root device hints"): ``model`` and
``vendor`` match a substring, ``serialNumber``, ``wwn`` and ``hctl`` the whole value,
``minSizeGigabytes`` is decimal GB (10^9 bytes, as disks are sold and as
``disks[].sizeGigabytes`` is written; Ironic's ``size`` is GiB), ``rotational`` a boolean,
``deviceName`` the kernel name or a /dev/disk/by-* link to it.

What is compared is known to different degrees: the installer's live system reads every
property of its disks (the script ``strata/ignition/root-device.sh``, which applies these
same normal forms), while topology.yaml's ``disks`` and a BMC's inventory say less. So a
disk here matches, does not, or may: a property nobody reported is unknown, not a
mismatch. Validate and inspection refuse only what is sure: no disk can match, or more
than one surely does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["HINTS", "Choice", "DiskFacts", "Match", "choose", "describe", "match"]

HINTS = (
    "deviceName",
    "hctl",
    "model",
    "vendor",
    "serialNumber",
    "wwn",
    "minSizeGigabytes",
    "rotational",
)
"""Hint names as topology.yaml writes them (``RootDeviceHints`` aliases)."""

_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WWN_PREFIXES = ("0x", "naa.", "eui.")


class Match(enum.Enum):
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"  # a property a hint names is not known for this disk


@dataclass(frozen=True, slots=True)
class DiskFacts:
    """What is known of one disk; None: not reported."""

    label: str  # how a person knows it: /dev/sda, or the BMC's "Disk 1"
    name: str | None = None  # kernel device path, /dev/sda
    size_bytes: int | None = None
    model: str | None = None
    vendor: str | None = None
    serial: str | None = None
    wwn: str | None = None
    rotational: bool | None = None
    hctl: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """The disks that surely match, and those that may."""

    sure: tuple[DiskFacts, ...]
    maybe: tuple[DiskFacts, ...]

    @property
    def possible(self) -> tuple[DiskFacts, ...]:
        return self.sure + self.maybe


def text_key(value: str) -> str:
    """Model and vendor: ASCII lower case, ``_`` as a space (udev's ``ID_MODEL`` writes
    spaces so), runs of white space one space."""
    return " ".join(value.translate(_UPPER).replace("_", " ").split())


def serial_key(value: str) -> str:
    """Serial numbers: ASCII lower case, no white space or ``_`` at all (ATA serials are
    space-padded; udev's ``ID_SERIAL_SHORT`` turns inner spaces into ``_``)."""
    return "".join(value.translate(_UPPER).replace("_", " ").split())


def wwn_key(value: str) -> str:
    """WWNs: lower case, without a ``0x``, ``naa.`` or ``eui.`` prefix (udev's ``ID_WWN``
    writes ``0x5000c500…``, sysfs ``wwid`` ``naa.5000c500…``)."""
    key = "".join(value.translate(_UPPER).split())
    for prefix in _WWN_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def match(hints: Mapping[str, Any], disk: DiskFacts) -> Match:
    """YES if every hint surely holds, NO if one surely fails, else MAYBE."""
    verdicts = [_one(name, value, disk) for name, value in hints.items()]
    if Match.NO in verdicts:
        return Match.NO
    return Match.MAYBE if Match.MAYBE in verdicts else Match.YES


def choose(hints: Mapping[str, Any], disks: Sequence[DiskFacts]) -> Choice:
    verdicts = [(disk, match(hints, disk)) for disk in disks]
    return Choice(
        sure=tuple(d for d, v in verdicts if v is Match.YES),
        maybe=tuple(d for d, v in verdicts if v is Match.MAYBE),
    )


def describe(hints: Mapping[str, Any]) -> str:
    """``serialNumber=S3Z…, minSizeGigabytes=400``: hints as a person wrote them."""
    return ", ".join(f"{name}={_show(value)}" for name, value in hints.items())


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _one(name: str, hint: Any, disk: DiskFacts) -> Match:
    if name == "minSizeGigabytes":
        return _known(disk.size_bytes, lambda size: size >= int(hint) * 10**9)
    if name == "rotational":
        return _known(disk.rotational, lambda rotational: rotational is bool(hint))
    if name == "deviceName":
        return _device_name(str(hint), disk.name)
    if name in ("model", "vendor"):
        found = disk.model if name == "model" else disk.vendor
        return _known(found, lambda text: text_key(str(hint)) in text_key(text))
    if name == "serialNumber":
        return _known(disk.serial, lambda serial: serial_key(serial) == serial_key(str(hint)))
    if name == "wwn":
        return _known(disk.wwn, lambda wwn: wwn_key(wwn) == wwn_key(str(hint)))
    if name == "hctl":
        return _known(disk.hctl, lambda hctl: hctl.strip() == str(hint).strip())
    raise ValueError(f"unknown root device hint {name!r}")


def _known(value: Any, holds: Callable[[Any], bool]) -> Match:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Match.MAYBE
    return Match.YES if holds(value) else Match.NO


def _device_name(hint: str, name: str | None) -> Match:
    """A kernel name compares with the disk's; a /dev/disk/by-* link can only be followed
    on the machine itself (by the installer's script), so it is unknown here."""
    if name is None or not name.startswith("/dev/"):
        return Match.MAYBE
    if hint.startswith("/dev/disk/"):
        return Match.YES if hint == name else Match.MAYBE
    return Match.YES if hint == name else Match.NO
