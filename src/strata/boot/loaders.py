"""The boot loaders that ask the boot service for a node's boot recipe, and how each is
answered: iPXE at ``/ipxe`` (every network boot, and virtual media on BIOS) and GRUB at
``/grub`` (virtual media on UEFI: ``strata.boot.media``). Both are given the same
recipe (``strata.ignition.recipe``) for the same attempt, in their own language; what
each says to a machine it does not know, to a provisioned one, and when no recipe can
be made, is here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strata.ignition import disk_script
from strata.ignition.recipe import disk_grub
from strata.plan import NodePlan

__all__ = ["GRUB", "IPXE", "Loader"]

_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Loader:
    """One boot loader's dialect: ``name`` ("ipxe", "grub", also the cache key of its
    rendered script), what it is told for an unknown MAC (``unknown(mac)``), for a node
    with no open attempt (``disk(node)``: boot from disk), and for a recipe that failed
    (``failed(reason)``)."""

    name: str
    unknown: Callable[[str], str]
    disk: Callable[[NodePlan], str]
    failed: Callable[[str], str]
    media_type: str = _TEXT


IPXE = Loader(
    name="ipxe",
    unknown=lambda mac: (
        "#!ipxe\n"
        f"echo Strata does not know this machine (MAC {mac}): it was recorded, "
        "nothing was installed.\n"
        "echo Add it to topology.yaml to provision it.\n"
        "sleep 30\n"
        "exit\n"
    ),
    disk=disk_script,
    failed=lambda reason: f"#!ipxe\necho Strata: {reason}\nsleep 30\nexit\n",
)

GRUB = Loader(
    name="grub",
    unknown=lambda mac: (
        f"echo 'Strata does not know this machine (MAC {mac}): nothing was installed.'\n"
        "sleep 30\nexit\n"
    ),
    disk=disk_grub,
    failed=lambda reason: f"echo {_grub_words('Strata: ' + reason)}\nsleep 30\nexit\n",
)


def _grub_words(text: str) -> str:
    """``text`` as one single-quoted GRUB word (a quote in it closed and escaped)."""
    return "'" + text.replace("'", "'\\''").replace("\n", " ") + "'"
