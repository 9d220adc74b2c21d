"""One normal form for what BMCs report, applied before anything is compared.

BMCs pad fixed-width fields: SMBIOS strings (DSP0134) and ATA IDENTIFY serial
and model numbers (ACS-4, IDENTIFY DEVICE words 10-19 and 27-46) are
space-padded, IPMI FRU fields (Platform Management FRU Information Storage
Definition v1.0, type/length-prefixed strings) may carry NULs; vendors differ in
the case and separators of MAC addresses; and Redfish ``CapacityBytes``
(DSP0268, Drive and SimpleStorage) arrives as an integer, a float or a string. Drivers put every inventory value through these
functions, and inspection compares topology.yaml with an inventory (or one
inventory with another) only through their keys.
"""

from __future__ import annotations

import math
import re

__all__ = ["key", "mac", "serial_key", "size_bytes", "text"]

_OCTETS = re.compile(r"^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(\1[0-9a-f]{1,2}){4}$")
_BARE = re.compile(r"^[0-9a-f]{12}$")  # 525400aabbcc, or Cisco's 5254.00aa.bbcc undotted
_NO_MAC = "00:00:00:00:00:00"  # what some BMCs report for a port without an address


def text(value: object) -> str | None:
    """Printable text: NULs and padding stripped, inner runs of white space one space.

    ``None``, non-strings other than numbers, and empty or all-padding text give ``None``.
    """
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float):
        return None
    cleaned = " ".join(str(value).replace("\x00", " ").split())
    return cleaned or None


def key(value: object) -> str | None:
    """How two model or vendor strings are compared: ``text`` case-folded."""
    cleaned = text(value)
    return cleaned.casefold() if cleaned else None


def serial_key(value: object) -> str | None:
    """How two serial numbers are compared: case-folded, with no white space at all
    (ATA serials are right-justified in 20 characters; some BMCs split them)."""
    cleaned = text(value)
    return "".join(cleaned.split()).casefold() if cleaned else None


def mac(value: object) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from ``AA:BB:…``, ``aa-bb-…``, ``0:1a:…`` (unpadded octets),
    ``5254.00aa.bbcc`` or ``525400AABBCC``; ``None`` for nothing or all zeros.

    Text that is no MAC stays lower-cased text, so it can only match itself.
    """
    cleaned = text(value)
    if cleaned is None:
        return None
    lowered = cleaned.lower()
    if _OCTETS.match(lowered):
        octets = [part.zfill(2) for part in re.split(r"[:-]", lowered)]
    elif _BARE.match(lowered.replace(".", "")):
        bare = lowered.replace(".", "")
        octets = [bare[i : i + 2] for i in range(0, 12, 2)]
    else:
        return lowered
    canonical = ":".join(octets)
    return None if canonical == _NO_MAC else canonical


def size_bytes(value: object) -> int | None:
    """A capacity in bytes as an ``int``; ``None`` when absent, not a number, or not positive."""
    if value is None or isinstance(value, bool):
        return None
    number: float
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return round(number)
