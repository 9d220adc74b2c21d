"""Parse the addresses a topology names: MACs, IPs and BMC URLs.

Each parser returns the normalized value or raises ``AddressError`` with a
message fit for a person. Messages never repeat a URL's user-info part, which
could hold a password.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import SplitResult, parse_qsl, urlsplit

from strata.topology.bmc_schemes import REFUSED_SCHEMES, SCHEMES, split_scheme
from strata.topology.model import BMC

__all__ = ["BMC_SCHEMES", "AddressError", "parse_bmc_address", "parse_ip", "parse_mac"]

_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")

# Address schemes as Metal3's baremetal-operator spells them (bmc_schemes.SCHEMES).
# Value: the protocol family and the default port (None: the transport's own).
BMC_SCHEMES: dict[str, tuple[str, int | None]] = {
    name: (scheme.family, 623 if scheme.family == "ipmi" else None)
    for name, scheme in SCHEMES.items()
}

# A host name: dot-separated labels of letters, digits and inner hyphens, each at most
# 63 characters (RFC 1123 section 2.1; Metal3's access.go checkDNSValid, the same rule).
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAX_HOST_NAME = 253  # RFC 1035 section 2.3.4, without the final dot

# IPMI privilege levels a session may ask for (IPMI 2.0, table 22-28; Ironic's ipmi_priv_level).
IPMI_PRIVILEGES = ("callback", "user", "operator", "administrator")
# The query key: Strata's ``privilege``; Metal3's ``privilegelevel`` (ipmi.go).
_PRIVILEGE_KEYS = ("privilege", "privilegelevel")


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


def parse_bmc_address(
    text: str,
    protocol: str | None,
    credentials: str | None,
    insecure: bool,
    ca_bundle: str | None = None,
) -> BMC:
    """A BMC address read as Metal3 reads it (pkg/hardwareutils/bmc/access.go).

    ``text``: ``scheme://host[:port][/system-path][?privilege=LEVEL]``, Metal3's
    ``scheme:host[:port]``, or a bare ``host[:port]`` taking ``protocol`` as its scheme
    (Metal3 would read it as IPMI; Strata asks). The Redfish path is the system's, any
    path (Metal3's redfish_system_id); none, ``/`` or ``/redfish/v1`` mean the BMC's
    only system. Returns the ``BMC`` with the address normalized to ``scheme://…``;
    raises ``AddressError`` saying what is wrong and what to write.
    """
    address = text.strip()
    if "@" in address:  # before any message that could quote the address
        raise AddressError(
            "the BMC address carries a user name or password: put them in credentials "
            "and refer to them with bmc.credentials"
        )
    url, scheme = _split(address, protocol)
    port = _port(url)
    host = _host(url)
    family, default_port = BMC_SCHEMES[scheme]
    if url.fragment:
        raise AddressError("a BMC address takes no #fragment")
    system = _system(family, url.path)
    privilege = _privilege(family, url.query)
    return BMC(
        address=url._replace(scheme=scheme).geturl(),
        protocol=scheme,
        host=host,
        port=port if port is not None else default_port,
        system=system,
        credentials=credentials,
        insecure=insecure,
        ca_bundle=ca_bundle,
        privilege=privilege,
        boot=SCHEMES[scheme].boot,
    )


def _split(address: str, protocol: str | None) -> tuple[SplitResult, str]:
    scheme, rest = split_scheme(address)
    if scheme is None:
        if protocol is None:
            _host(_urlsplit(f"//{address}"))  # a bad host is said first: it needs fixing too
            raise AddressError(
                f"'{address}' has no scheme (Metal3 reads a bare host as IPMI; Strata asks): "
                f"write ipmi://{address} or redfish://{address}/redfish/v1/Systems/<id>, "
                "or set bmc.protocol"
            )
        scheme, rest = protocol.lower(), address
    if scheme in REFUSED_SCHEMES:
        reason, instead = REFUSED_SCHEMES[scheme]
        raise AddressError(f"{reason}: write {instead}://{_urlsplit(f'//{rest}').netloc}")
    if scheme not in SCHEMES:
        raise AddressError(f"unknown BMC address scheme '{scheme}://' (known: {_known()})")
    return _urlsplit(f"{scheme}://{rest}"), scheme


def _urlsplit(text: str) -> SplitResult:
    try:
        return urlsplit(text)
    except ValueError:  # urlsplit checks that a bracketed host is an IP address
        inner = text[text.find("[") + 1 : text.find("]")] if "]" in text else text
        raise AddressError(
            f"'{inner}' in brackets is not an IPv6 address "
            "(write one such as [fd00::5], or the host without brackets)"
        ) from None


def _known() -> str:
    bases = [s for s in SCHEMES if "+" not in s and f"{s}+http" in SCHEMES]
    return (
        ", ".join(bases)
        + " (each also +http, +https), "
        + ", ".join(s for s in SCHEMES if "+" not in s and s not in bases)
    )


def _port(url: SplitResult) -> int | None:
    try:
        port = url.port
    except ValueError:
        raise AddressError(
            f"the BMC address port in '{url.netloc}' is not a number from 0 to 65535"
        ) from None
    return port


def _host(url: SplitResult) -> str:
    """The host: an IP address (IPv6 in brackets) or a valid host name."""
    try:
        host = url.hostname
    except ValueError:
        host = None
    if not host:
        raise AddressError("the BMC address has no host")
    if url.netloc.startswith("["):
        try:
            IPv6Address(host)
        except ValueError:
            raise AddressError(f"'{host}' in brackets is not an IPv6 address") from None
        return host
    if _is_ip(host):
        return host
    if len(host) > MAX_HOST_NAME or not all(_LABEL.match(p) for p in host.split(".")):
        raise AddressError(
            f"'{host}' is not a valid host name: labels between dots are 1-63 letters, "
            "digits or hyphens and neither begin nor end with a hyphen (RFC 1123); "
            "write the BMC's DNS name or its IP address"
        )
    return host


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _system(family: str, path: str) -> str | None:
    """The Redfish system path, as Metal3's redfishAccessDetails.DriverInfo passes it
    (redfish.go): any path, except none, ``/`` and ``/redfish/v1``: the only system."""
    system = path.rstrip("/")
    if family == "ipmi":
        if system:
            raise AddressError(f"an ipmi:// address takes no path ('{path}'): ipmi://host[:port]")
        return None
    return None if system in ("", "/redfish/v1") else system


def _privilege(family: str, query: str) -> str | None:
    if not query:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    if family != "ipmi" or len(pairs) != 1 or pairs[0][0].lower() not in _PRIVILEGE_KEYS:
        keys = ", ".join(k for k, _ in pairs) or query  # the keys only: a value may be a secret
        raise AddressError(
            f"the BMC address query ({keys}) is not one Strata reads: the only query is "
            "ipmi://host?privilege=LEVEL (Metal3's ?privilegelevel=LEVEL is read the same)"
        )
    value = pairs[0][1]
    if value.lower() not in IPMI_PRIVILEGES:
        raise AddressError(
            f"unknown IPMI privilege '{value}' (known: {', '.join(IPMI_PRIVILEGES)})"
        )
    return value.lower()
