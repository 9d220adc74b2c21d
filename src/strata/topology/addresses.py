"""Parse the addresses a topology names: MACs, IPs and BMC URLs.

Each parser returns the normalized value or raises ``AddressError`` with a
message fit for a person. Messages never repeat a URL's user-info part, which
could hold a password.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from strata.topology.model import BMC

__all__ = ["BMC_SCHEMES", "AddressError", "parse_bmc_address", "parse_ip", "parse_mac"]

_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")

# Address schemes as Metal3's baremetal-operator spells them
# (docs/api.md, "BMC": redfish, redfish-virtualmedia, ipmi; "+http"/"+https" pick the transport).
# Value: the protocol family and the default port (None: the transport's own).
BMC_SCHEMES: dict[str, tuple[str, int | None]] = {
    "redfish": ("redfish", None),
    "redfish+http": ("redfish", None),
    "redfish+https": ("redfish", None),
    "redfish-virtualmedia": ("redfish", None),
    "redfish-virtualmedia+http": ("redfish", None),
    "redfish-virtualmedia+https": ("redfish", None),
    "ipmi": ("ipmi", 623),
}


class AddressError(ValueError):
    pass


def parse_mac(text: str) -> str:
    """Lower-case, colon-separated; refuses multicast and all-zero addresses."""
    value = text.strip().lower()
    if not _MAC.match(value):
        raise AddressError(
            f"'{text}' is not a MAC address (write six hex pairs: 52:54:00:12:34:56)"
        )
    value = value.replace("-", ":")
    if int(value[:2], 16) & 1:
        raise AddressError(f"'{value}' is a multicast MAC; a NIC's MAC is unicast")
    if value == "00:00:00:00:00:00":
        raise AddressError("00:00:00:00:00:00 is not a NIC's MAC")
    return value


def parse_ip(text: str) -> IPv4Address | IPv6Address:
    try:
        return ip_address(text.strip())
    except ValueError:
        raise AddressError(f"'{text}' is not an IP address") from None


# IPMI privilege levels a session may ask for (IPMI 2.0, table 22-28; Ironic's ipmi_priv_level).
IPMI_PRIVILEGES = ("callback", "user", "operator", "administrator")


def parse_bmc_address(
    text: str,
    protocol: str | None,
    credentials: str | None,
    insecure: bool,
    ca_bundle: str | None = None,
) -> BMC:
    """``redfish://10.0.0.5/redfish/v1/Systems/1`` or a bare host with ``protocol``."""
    address = text.strip()
    if "@" in address:  # before any message that could quote the address
        raise AddressError(
            "the BMC address carries a user name or password: put them in credentials "
            "and refer to them with bmc.credentials"
        )
    if "://" not in address:
        if protocol is None:
            raise AddressError(
                f"'{address}' has no scheme: write a URL such as redfish://{address}"
                "/redfish/v1/Systems/1, or set bmc.protocol"
            )
        address = f"{protocol}://{address}"
    try:
        url = urlsplit(address)
        port = url.port
    except ValueError:
        raise AddressError("the BMC address is not a valid URL") from None
    scheme = url.scheme.lower()
    if scheme not in BMC_SCHEMES:
        known = ", ".join(f"{s}://" for s in BMC_SCHEMES)
        raise AddressError(f"unknown BMC address scheme '{scheme}://' (known: {known})")
    family, default_port = BMC_SCHEMES[scheme]
    if not url.hostname:
        raise AddressError("the BMC address has no host")
    system = url.path.rstrip("/") or None
    if family == "ipmi" and system:
        raise AddressError("an ipmi:// address takes no path: ipmi://host[:port]")
    if system and not system.startswith("/redfish/v1/Systems/"):
        raise AddressError(
            f"the Redfish path '{system}' is not a system: use /redfish/v1/Systems/<id>"
        )
    privilege = _privilege(family, url.query)
    normalized = url._replace(scheme=scheme).geturl()
    return BMC(
        address=normalized,
        protocol=scheme,
        host=url.hostname,
        port=port if port is not None else default_port,
        system=system,
        credentials=credentials,
        insecure=insecure,
        ca_bundle=ca_bundle,
        privilege=privilege,
    )


def _privilege(family: str, query: str) -> str | None:
    if not query:
        return None
    key, _, value = query.partition("=")
    if family != "ipmi" or key != "privilege" or "&" in value:
        raise AddressError("the only query a BMC address takes is ipmi://host?privilege=LEVEL")
    if value.lower() not in IPMI_PRIVILEGES:
        raise AddressError(
            f"unknown IPMI privilege '{value}' (known: {', '.join(IPMI_PRIVILEGES)})"
        )
    return value.lower()
