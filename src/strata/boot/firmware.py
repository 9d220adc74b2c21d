"""Which network-boot client gets which iPXE binary, and how.

A machine's firmware says what it is in DHCP option 93, the client system
architecture (RFC 4578 section 2.1; the codes are IANA's "Processor Architecture
Types" registry, which RFC 5970 extends with the HTTP-boot codes). PXE clients fetch
their iPXE binary over TFTP; UEFI HTTP Boot clients (UEFI 2.9 section 24.7) also say
``HTTPClient`` in option 60, and must be answered with ``HTTPClient`` in option 60 and
an ``http://`` URL as the boot file, which the boot service serves from the same
binaries (``/firmware/{file}``). An architecture without a binary here is refused, with
the reason in this table and in docs/boot.md: dnsmasq then offers it no boot file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strata.boot.assets import Asset, asset_of

__all__ = ["ARCHITECTURES", "IPXE_BINARIES", "ClientArch", "firmware_assets"]

IPXE_BINARIES = Path("/usr/lib/ipxe")  # Debian's ipxe package: undionly.kpxe, ipxe.efi
_NO_BINARY = "no iPXE binary for it in Debian's ipxe package (x86 only)"


@dataclass(frozen=True, slots=True)
class ClientArch:
    code: int  # DHCP option 93
    name: str
    binary: str | None  # the iPXE binary it gets; None: refused
    http: bool = False  # a UEFI HTTP Boot client: an http:// URL, option 60 HTTPClient
    refused: str | None = None  # why there is no binary

    @property
    def tag(self) -> str:
        """The dnsmasq tag of clients of this architecture."""
        return f"arch{self.code}"


ARCHITECTURES: tuple[ClientArch, ...] = (
    ClientArch(0, "x86 BIOS", "undionly.kpxe"),
    ClientArch(6, "x86 UEFI, 32-bit", None, refused=_NO_BINARY),
    ClientArch(7, "x86-64 UEFI", "ipxe.efi"),
    # 9 is "EFI x86-64" in RFC 4578 (7 is "EFI BC"); firmwares send either for x86-64
    ClientArch(9, "x86-64 UEFI", "ipxe.efi"),
    ClientArch(10, "ARM 32-bit UEFI", None, refused=_NO_BINARY),
    ClientArch(11, "ARM 64-bit UEFI", None, refused=_NO_BINARY),
    ClientArch(15, "x86 UEFI HTTP, 32-bit", None, http=True, refused=_NO_BINARY),
    ClientArch(16, "x86-64 UEFI HTTP", "ipxe.efi", http=True),
    ClientArch(19, "ARM 64-bit UEFI HTTP", None, http=True, refused=_NO_BINARY),
)


def firmware_assets(directory: Path = IPXE_BINARIES) -> dict[str, Asset]:
    """The binaries ``ARCHITECTURES`` names that exist in ``directory``, by file name (what
    ``/firmware/{file}`` serves; any other name is not found)."""
    names = {a.binary for a in ARCHITECTURES if a.binary is not None}
    return {n: asset_of(directory / n) for n in sorted(names) if (directory / n).is_file()}
