"""Root-device size hints between Strata's decimal GB and Metal3's GiB.

Strata's ``minSizeGigabytes`` is decimal GB: a disk matches when its size in bytes is at
least ``N * 10**9`` (strata.topology.root_device). Metal3 passes its
``minSizeGigabytes`` to Ironic as the hint ``size: ">= M"``, which ironic-lib compares
with the disk's size in whole GiB, rounded down (``size // 2**30``): a disk matches
when its size in bytes is at least ``M * 2**30``.

- Export takes ``M = floor(N * 10**9 / 2**30)``: every disk of at least ``N * 10**9``
  bytes has at least ``M`` whole GiB, so each disk Strata's hint matches Metal3's matches
  too (a 480 GB disk, 447.0 GiB, against ``M = 447``). Metal3's hint may also take a disk
  up to 1 GB smaller, never one Strata's takes less.
- Import takes ``N = ceil(M * 2**30 / 10**9)``, the smallest ``N`` that exports back to
  ``M``: import, export, import is stable (``M -> N -> M -> N``). Strata's hint is then
  stricter than Metal3's by less than 1 GB (a disk between ``M`` GiB and ``N`` GB).
"""

from __future__ import annotations

__all__ = ["gb_to_metal3", "metal3_to_gb"]

_GB = 10**9
_GIB = 2**30


def gb_to_metal3(gigabytes: int) -> int:
    """Strata's decimal GB -> Metal3's minSizeGigabytes (GiB), rounded down."""
    return gigabytes * _GB // _GIB


def metal3_to_gb(gibibytes: int) -> int:
    """Metal3's minSizeGigabytes (GiB) -> Strata's decimal GB, rounded up."""
    return -(-gibibytes * _GIB // _GB)
