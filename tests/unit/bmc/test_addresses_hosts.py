"""BMC addresses beyond Metal3's table: hosts that are not hosts, IPv6 written without
brackets or with a zone, ports out of range, Redfish paths that name no system, and
the "has no scheme" hint, which names only addresses that are read.

Each refusal says why and what to write; each row failed before the reader knew it.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from strata.topology.addresses import AddressError, parse_bmc_address


class Host(NamedTuple):
    host: str
    port: int | None
    system: str | None = None


NOT_IPV4 = "is not a valid IPv4 address"

# (case, address, bmc.protocol, the words of the refusal)
REFUSED: list[tuple[str, str, str | None, str]] = [
    # 1. A host whose last label is all digits, or with a 0x label, is an IPv4 address.
    ("octet over 255", "redfish://192.168.100.300/redfish/v1/Systems/1", None, NOT_IPV4),
    ("three numbers", "redfish://1.2.3/", None, f"'1.2.3' {NOT_IPV4}"),
    ("one number", "redfish://999/", None, f"'999' {NOT_IPV4}"),
    ("hexadecimal", "redfish://0x7f.1/", None, f"'0x7f.1' {NOT_IPV4}"),
    ("hexadecimal label in a name", "ipmi://0x10.example.com", None, NOT_IPV4),
    ("leading zeros", "ipmi://010.0.0.1", None, "without leading zeros"),
    ("no-sep port read as host", "redfish:8443", None, "a port goes after the host: host:8443"),
    ("bare number", "623", "ipmi", f"'623' {NOT_IPV4}"),
    # 2. IPv6 without brackets: said so, with the address to write.
    (
        "ipv6 without brackets",
        "redfish://fe80::1/redfish/v1/Systems/1",
        None,
        "an IPv6 address goes in brackets: [fe80::1] "
        "(write redfish://[fe80::1]/redfish/v1/Systems/1)",
    ),
    (
        "ipv6 with zone without brackets",
        "ipmi://fe80::1%eth0",
        None,
        "an IPv6 address goes in brackets: [fe80::1%eth0] (write ipmi://[fe80::1%eth0])",
    ),
    (
        "ipv6 no-sep without brackets",
        "ipmi:fd00::5",
        None,
        "an IPv6 address goes in brackets: [fd00::5] (write ipmi://[fd00::5])",
    ),
    (
        "bare ipv6 with bmc.protocol",
        "fd00::5",
        "ipmi",
        "an IPv6 address goes in brackets: [fd00::5]",
    ),
    ("colons that are no ipv6", "ipmi://h:1:2", None, "an IPv6 address goes in brackets"),
    # 3. The "has no scheme" hint names addresses that are read.
    (
        "bare ipv6 without bmc.protocol",
        "fd00::5",
        None,
        "write ipmi://[fd00::5] or redfish://[fd00::5]/redfish/v1/Systems/<id>, "
        "or set bmc.protocol",
    ),
    (
        "bare host with a path",
        "h/redfish/v1/Systems/1",
        None,
        "write redfish://h/redfish/v1/Systems/1, or set bmc.protocol",
    ),
    (
        "bare host with the Systems collection",
        "h/redfish/v1/Systems",
        None,
        "write redfish://h/redfish/v1/Systems/<id>, or set bmc.protocol",
    ),
    (
        "bare host with a query",
        "h?privilege=operator",
        None,
        "write ipmi://h?privilege=operator, or set bmc.protocol",
    ),
    ("bare zoned ipv6", "fe80::1%eth0", None, "write ipmi://[fe80::1%eth0], or set bmc.protocol"),
    # 5. Port 0 is no port.
    ("ipmi port 0", "ipmi://h:0", None, "port in 'h:0' is not a number from 1 to 65535"),
    ("redfish port 0", "redfish://h:0/", None, "port in 'h:0' is not a number from 1 to 65535"),
    ("port over 65535", "ipmi://h:65536", None, "from 1 to 65535"),
    ("empty port", "ipmi://h:", None, "from 1 to 65535"),
    # 6. Nothing but a port after a bracketed host; only the host part is quoted.
    (
        "text after the brackets",
        "redfish://[::1]x/redfish/v1/Systems/1",
        None,
        "'x' follows the bracketed host in '[::1]x': only a port may ([::1]:port)",
    ),
    ("bracket not closed", "redfish://[fe80::1/", None, "'[fe80::1' opens a bracket"),
    # 7. A Redfish path names a system.
    (
        "the Systems collection",
        "redfish://10.0.0.5/redfish/v1/Systems",
        None,
        "'/redfish/v1/Systems' is the Systems collection, not a system: name a member of it "
        "(/redfish/v1/Systems/<id>), or leave the path out for the BMC's only system",
    ),
    (
        "the Systems collection, slash",
        "redfish://10.0.0.5/redfish/v1/Systems/",
        None,
        "is the Systems collection, not a system",
    ),
    (
        "a Manager",
        "idrac-redfish://10.0.0.5/redfish/v1/Managers/iDRAC.Embedded.1",
        None,
        "is a Manager resource, not a system",
    ),
    ("a Chassis", "redfish://10.0.0.5/redfish/v1/Chassis/1", None, "is a Chassis resource"),
    # 8. A zone: IPMI reads it (pyghmi resolves with getaddrinfo); the Redfish driver cannot.
    (
        "a zone on redfish",
        "redfish://[fe80::1%eth0]/redfish/v1/Systems/1",
        None,
        "a Redfish address cannot carry an IPv6 zone (%eth0)",
    ),
    (
        "an RFC 6874 zone on redfish",
        "redfish+http://[fe80::1%25eth0]",
        None,
        "a Redfish address cannot carry an IPv6 zone (%eth0)",
    ),
    (
        "a zone on redfish, unbracketed",
        "redfish://fe80::1%eth0/",
        None,
        "reach it over IPMI: ipmi://[fe80::1%eth0]",
    ),
    ("an empty zone", "ipmi://[fe80::1%]", None, "is not an IPv6 zone"),
]

READ: list[tuple[str, str, str | None, Host]] = [
    ("a zone on ipmi", "ipmi://[fe80::1%eth0]", None, Host("fe80::1%eth0", 623)),
    ("an RFC 6874 zone on ipmi", "ipmi://[fe80::1%25eth0]:6230", None, Host("fe80::1%eth0", 6230)),
    ("a bare zoned host", "[fe80::1%eth0]", "ipmi", Host("fe80::1%eth0", 623)),
    ("a name is lower-cased", "redfish://BMC-1.Example.COM", None, Host("bmc-1.example.com", None)),
    ("a name with digits", "ipmi://r1.0bmc.example", None, Host("r1.0bmc.example", 623)),
    ("port 65535", "ipmi://10.0.0.5:65535", None, Host("10.0.0.5", 65535)),
    (
        "a system under Systems",
        "redfish://10.0.0.5/redfish/v1/Systems/System.Embedded.1",
        None,
        Host("10.0.0.5", None, "/redfish/v1/Systems/System.Embedded.1"),
    ),
]


@pytest.mark.parametrize(
    ("address", "protocol", "says"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused(address: str, protocol: str | None, says: str) -> None:
    with pytest.raises(AddressError) as refused:
        parse_bmc_address(address, protocol, None, False)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("address", "protocol", "expected"), [r[1:] for r in READ], ids=[r[0] for r in READ]
)
def test_read(address: str, protocol: str | None, expected: Host) -> None:
    bmc = parse_bmc_address(address, protocol, None, False)
    assert Host(bmc.host, bmc.port, bmc.system) == expected
    assert parse_bmc_address(bmc.address, None, None, False) == bmc


def test_no_hint_names_an_address_that_is_refused() -> None:
    """Every address the "has no scheme" hint names is read."""
    for bare in ("fd00::5", "[fd00::5]:6230", "h/redfish/v1/Systems/1", "h", "h:6230", "h/"):
        with pytest.raises(AddressError) as refused:
            parse_bmc_address(bare, None, None, False)
        named = str(refused.value).split("write ", 1)[1].split(", or set")[0].split(" or ")
        for address in named:
            parse_bmc_address(address.replace("<id>", "1"), None, None, False)
