"""BMC address schemes, as Metal3's baremetal-operator names them, and what each means here.

Metal3 registers a factory per scheme name, each also under ``+http`` and ``+https``
(pkg/hardwareutils/bmc/access.go, ``RegisterFactory``), and reads from the name the
driver, the transport (https unless ``+http``) and the boot interface
(redfish.go, redfish_virtualmedia.go, redfish_https.go, idrac_virtualmedia.go, ipmi.go).
Strata reads the same names onto its two drivers: every Redfish flavour, vendor ones
included, is its Redfish driver (iDRAC's and iLO's quirks that Ironic's vendor
interfaces handle, such as iDRAC's "already on" PSU501/PSU502 and virtual media on
the Manager, it handles for every Redfish BMC); IPMI is its IPMI driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "REFUSED_SCHEMES",
    "SCHEMES",
    "Scheme",
    "boot_twin",
    "default_port",
    "split_scheme",
]

VIRTUAL_MEDIA = "virtualmedia"  # Metal3: redfish-virtual-media, idrac-redfish-virtual-media
UEFI_HTTP = "http"  # Metal3: redfish-https (UEFI HTTP Boot)
BOOT_NAMES = {VIRTUAL_MEDIA: "virtual media", UEFI_HTTP: "UEFI HTTP Boot"}


@dataclass(frozen=True, slots=True)
class Scheme:
    """What an address scheme says: the driver family (``redfish`` or ``ipmi``), the
    boot method it implies (a topology ``boot.method``; None: the node's own), the
    vendor it names, and ``network_twin``: the scheme of the same vendor and transport
    that leaves the boot method to ``boot.method`` (what to write to boot with iPXE)."""

    family: str
    boot: str | None
    vendor: str | None
    network_twin: str


def _with_transports(
    name: str, boot: str | None, vendor: str | None, twin: str
) -> dict[str, Scheme]:
    """``name``, ``name+http``, ``name+https``, as Metal3's RegisterFactory registers them."""
    return {
        f"{name}{plus}": Scheme("redfish", boot, vendor, f"{twin}{plus}")
        for plus in ("", "+http", "+https")
    }


SCHEMES: dict[str, Scheme] = {
    **_with_transports("redfish", None, None, "redfish"),
    **_with_transports("redfish-virtualmedia", VIRTUAL_MEDIA, None, "redfish"),
    **_with_transports("redfish-uefihttp", UEFI_HTTP, None, "redfish"),
    **_with_transports("idrac-redfish", None, "idrac", "idrac-redfish"),
    **_with_transports("idrac-virtualmedia", VIRTUAL_MEDIA, "idrac", "idrac-redfish"),
    **_with_transports("ilo5-redfish", None, "ilo5", "ilo5-redfish"),
    **_with_transports("ilo5-virtualmedia", VIRTUAL_MEDIA, "ilo5", "ilo5-redfish"),
    "ipmi": Scheme("ipmi", None, None, "ipmi"),
}
"""Every scheme Strata reads, Metal3's names all (its ``ipmi`` takes no transport)."""

REFUSED_SCHEMES: dict[str, tuple[str, str]] = {
    # ipmi.go registers libvirt with the IPMI factory: the address of a VirtualBMC (vbmc)
    # in front of a libvirt domain; NeedsMAC is its only difference.
    "libvirt": (
        "libvirt:// is Metal3's address of a VirtualBMC (vbmc), which is an IPMI BMC in "
        "front of a libvirt domain; Strata takes the protocol's own name",
        "ipmi",
    ),
}
"""Schemes Metal3 knows and Strata does not take: the reason, and the scheme to write."""


def default_port(scheme: str) -> int:
    """The port an address of ``scheme`` that writes none reaches: IPMI's 623 (RMCP+),
    else the transport's, 80 for ``+http`` and 443 for HTTPS (every other Redfish one)."""
    if SCHEMES[scheme].family == "ipmi":
        return 623
    return 80 if scheme.endswith("+http") else 443


# RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(//)?")


def split_scheme(text: str) -> tuple[str | None, str]:
    """``(scheme, rest)`` of an address: ``redfish://h/p`` -> ``("redfish", "h/p")``.

    Metal3's no-separator spelling (``ipmi:192.168.122.1``, which Go's url.Parse reads
    as an opaque URL and access.go re-reads with ``://``) counts when the prefix is a
    scheme Strata knows or refuses; any other ``name:`` without ``//`` is a bare
    ``host:port``, and the scheme is None.
    """
    found = _SCHEME_PREFIX.match(text)
    if found is None:
        return None, text
    scheme = found.group(1).lower()
    if found.group(2) or scheme in SCHEMES or scheme in REFUSED_SCHEMES:
        return scheme, text[found.end() :]
    return None, text


def boot_twin(scheme: str, boot: str) -> str | None:
    """The scheme of the same vendor and transport as ``scheme`` that implies the boot
    method ``boot`` (``redfish+https``, virtualmedia -> ``redfish-virtualmedia+https``):
    how Metal3 is told the boot method. None when no scheme does, or ``scheme`` already
    implies one."""
    if scheme not in SCHEMES or SCHEMES[scheme].boot is not None:
        return None
    found = [n for n, s in SCHEMES.items() if s.boot == boot and s.network_twin == scheme]
    return found[0] if found else None
