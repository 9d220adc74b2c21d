"""The host and port of a BMC address: ``host[:port]`` or ``[IPv6]:port``.

A host is an IPv4 address in dotted-quad form, an IPv6 address in brackets (RFC 3986
section 3.2.2), or a host name (RFC 1123 section 2.1). A name's last label is never
all digits (RFC 3696 section 2): ``192.168.100.300``, ``1.2.3``, ``999`` and ``0x7f.1``
are mistyped addresses, not names, and are refused rather than looked up.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address

__all__ = [
    "MAX_HOST_NAME",
    "AddressError",
    "Unbracketed",
    "parse_authority",
    "split_authority",
]

# A host name: dot-separated labels of letters, digits and inner hyphens, each at most
# 63 characters (RFC 1123 section 2.1; Metal3's access.go checkDNSValid, the same rule).
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAX_HOST_NAME = 253  # RFC 1035 section 2.3.4, without the final dot
_DIGITS = re.compile(r"^[0-9]+$")
# An IPv6 zone: an interface name or index (Linux names are at most 15 characters).
_ZONE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AddressError(ValueError):
    pass


class Unbracketed(AddressError):
    """An IPv6 address written without brackets; ``bracketed`` is the host to write."""

    def __init__(self, authority: str, bracketed: str | None) -> None:
        self.bracketed = bracketed
        if bracketed is None:
            super().__init__(
                f"'{authority}' is not host[:port]: a host name has no ':', and an IPv6 "
                "address goes in brackets: [fd00::5] or [fd00::5]:623"
            )
        else:
            super().__init__(f"an IPv6 address goes in brackets: {bracketed}")


def split_authority(rest: str) -> tuple[str, str]:
    """``host[:port]`` and what follows it (path, query, fragment) of an address after
    its ``scheme://``, split where urlsplit splits them (the first ``/``, ``?`` or ``#``)."""
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    end = min(ends, default=len(rest))
    return rest[:end], rest[end:]


def parse_authority(authority: str, family: str) -> tuple[str, int | None]:
    """``(host, port)``: the host as the driver takes it (IPv6 without brackets, a zone
    after ``%``; names lower-cased), the port or None. ``family``: ``redfish`` or ``ipmi``
    (a zone is for IPMI only)."""
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise AddressError(
                f"'{authority}' opens a bracket it does not close: write an IPv6 host "
                "as [fd00::5] or [fd00::5]:port"
            )
        host = _bracketed(authority[1:close], family)
        after = authority[close + 1 :]
        if after and not after.startswith(":"):
            raise AddressError(
                f"'{after}' follows the bracketed host in '{authority}': only a port may "
                f"({authority[: close + 1]}:port)"
            )
        return host, _port(after[1:], authority) if after else None
    if authority.count(":") > 1:
        raise Unbracketed(authority, _bracketed_form(authority))
    name, colon, port = authority.partition(":")
    return _name(name, port), _port(port, authority) if colon else None


def _port(text: str, authority: str) -> int:
    if not _DIGITS.match(text) or not 1 <= int(text) <= 65535:
        raise AddressError(f"the BMC address port in '{authority}' is not a number from 1 to 65535")
    return int(text)


def _bracketed(inner: str, family: str) -> str:
    address, percent, zone = inner.partition("%")
    try:
        IPv6Address(address)
    except ValueError:
        raise AddressError(
            f"'{inner}' in brackets is not an IPv6 address "
            "(write one such as [fd00::5], or the host without brackets)"
        ) from None
    if not percent:
        return address.lower()
    if zone.startswith("25") and len(zone) > 2:  # RFC 6874: the '%' itself as %25
        zone = zone[2:]
    if not _ZONE.match(zone):
        raise AddressError(
            f"'%{zone}' after {address} is not an IPv6 zone: write the interface "
            "that reaches the BMC, [fe80::1%eth0] (or its index)"
        )
    if family != "ipmi":
        raise AddressError(
            f"a Redfish address cannot carry an IPv6 zone (%{zone}): the Redfish driver's "
            "HTTP client (requests, urllib3) passes the zone on to the resolver, where the "
            "host is not found; give the BMC an address that needs no zone (a global or "
            f"unique-local one), or reach it over IPMI: ipmi://[{address.lower()}%{zone}]"
        )
    # pyghmi resolves the host with socket.getaddrinfo, which reads the zone.
    return f"{address.lower()}%{zone}"


def _bracketed_form(authority: str) -> str | None:
    """``fe80::1`` -> ``[fe80::1]``; ``fe80::1%eth0`` -> ``[fe80::1%eth0]``; None when
    the text is no IPv6 address, with or without a port after it."""
    if _is_ipv6(authority):
        return f"[{authority}]"
    head, _, port = authority.rpartition(":")
    if _DIGITS.match(port) and _is_ipv6(head):
        return f"[{head}]:{port}"
    return None


def _is_ipv6(text: str) -> bool:
    try:
        IPv6Address(text.partition("%")[0])
    except ValueError:
        return False
    return True


def _name(host: str, port: str) -> str:
    """A dotted-quad IPv4 address or a host name, lower-cased."""
    if not host:
        raise AddressError("the BMC address has no host")
    labels = host.split(".")
    if _DIGITS.match(labels[-1]) or any(label[:2].lower() == "0x" for label in labels):
        try:
            return str(IPv4Address(host))
        except ValueError:
            pass
        hint = f" (a port goes after the host: host:{host})" if "." not in host and not port else ""
        raise AddressError(
            f"'{host}' is not a valid IPv4 address, and a host whose last label is all "
            "digits, or with a label starting 0x, can only be one: a host name's top-level "
            "label is never all-numeric (RFC 1123 section 2.1, RFC 3696 section 2); write "
            "four numbers from 0 to 255 without leading zeros, such as 192.168.100.30, or "
            f"the BMC's DNS name{hint}"
        )
    if len(host) > MAX_HOST_NAME or not all(_LABEL.match(label) for label in labels):
        raise AddressError(
            f"'{host}' is not a valid host name: labels between dots are 1-63 letters, "
            "digits or hyphens and neither begin nor end with a hyphen (RFC 1123); "
            "write the BMC's DNS name or its IP address"
        )
    return host.lower()
