"""Metal3's table of BMC addresses, read by Strata.

The 48 addresses of metal3-io/baremetal-operator's pkg/hardwareutils/bmc/access_test.go
(TestParse 17, TestStaticDriverInfo 14, TestDriverInfo 16, TestUnknownType 1), each
with the reading Metal3 gives it — driver, host, port, Redfish system path, boot
method the scheme implies, IPMI privilege — or the refusal Strata gives instead,
which says why and what to write. The expected values are written out here, not
derived: docs/bmc.md's table "Metal3 address form -> what Strata does" says the same.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import pytest

from strata.bmc.ipmi import IPMIDriver
from strata.bmc.redfish import RedfishDriver
from strata.bmc.registry import driver_class
from strata.plan import build_plan
from strata.topology import check_text
from strata.topology.addresses import AddressError, parse_bmc_address
from strata.topology.bmc_schemes import SCHEMES
from strata.topology.diagnostics import format_path
from tests.unit.topology.test_rule_findings import BASE, N0, at, dump

V6 = "fe80::fc33:62ff:fe83:8a76"
IP = "192.168.122.1"


class Read(NamedTuple):
    """Metal3's reading: the driver, its scheme, host, port (623: IPMI's default), the
    Redfish system path (None: the BMC's only system), the boot method the plan uses
    (Metal3's boot interface for the scheme), the IPMI session privilege (None: admin)."""

    driver: type[RedfishDriver] | type[IPMIDriver]
    protocol: str
    host: str
    port: int | None
    system: str | None
    boot: str
    privilege: str | None = None


class Refused(NamedTuple):
    """Refused, with these words (the reason, and what to write instead)."""

    says: str


R, I_ = RedfishDriver, IPMIDriver
VM, HTTP, IPXE = "virtualmedia", "http", "ipxe"

# (Metal3 test / scenario, address, bmc.protocol, what Strata does)
# A bare host takes its scheme from bmc.protocol; Metal3's default for one is IPMI.
ROWS: list[tuple[str, str, str | None, Read | Refused]] = [
    # TestParse
    (
        "Parse/libvirt url",
        f"libvirt://{IP}:6233/?abc=def",
        None,
        Refused(f"write ipmi://{IP}:6233"),
    ),
    ("Parse/ipmi default scheme and port", IP, "ipmi", Read(I_, "ipmi", IP, 623, None, IPXE)),
    (
        "Parse/ipmi default scheme and port, hostname",
        "my.favoritebmc.com",
        "ipmi",
        Read(I_, "ipmi", "my.favoritebmc.com", 623, None, IPXE),
    ),
    (
        "Parse/valid dns hostname",
        "my.examplehost.com",
        "ipmi",
        Read(I_, "ipmi", "my.examplehost.com", 623, None, IPXE),
    ),
    (
        "Parse/invalid dns hostname",
        "my-.examplehost.com",
        "ipmi",
        Refused("'my-.examplehost.com' is not a valid host name"),
    ),
    (
        "Parse/invalid ipv6 host address",
        "[fe80::fc33:62ff:fe33:8xff]:6223",
        "ipmi",
        Refused("'fe80::fc33:62ff:fe33:8xff' in brackets is not an IPv6 address"),
    ),
    ("Parse/host and port", f"{IP}:6233", "ipmi", Read(I_, "ipmi", IP, 6233, None, IPXE)),
    ("Parse/host and port, ipv6", f"[{V6}]:6233", "ipmi", Read(I_, "ipmi", V6, 6233, None, IPXE)),
    # Metal3 refuses this one only because Go's url.Parse cannot read a bracketed host
    # without a scheme or port; Strata reads it as it reads ipmi://[v6].
    ("Parse/host and no port, ipv6", f"[{V6}]", "ipmi", Read(I_, "ipmi", V6, 623, None, IPXE)),
    ("Parse/ipmi full url", f"ipmi://{IP}:6233", None, Read(I_, "ipmi", IP, 6233, None, IPXE)),
    ("Parse/ipmi url, no sep", f"ipmi:{IP}", None, Read(I_, "ipmi", IP, 623, None, IPXE)),
    (
        "Parse/ipmi url with port, no sep",
        f"ipmi:{IP}:6233",
        None,
        Read(I_, "ipmi", IP, 6233, None, IPXE),
    ),
    ("Parse/redfish url", f"redfish://{IP}", None, Read(R, "redfish", IP, None, None, IPXE)),
    (
        "Parse/redfish url path",
        f"redfish://{IP}:6233/foo",
        None,
        Read(R, "redfish", IP, 6233, "/foo", IPXE),
    ),
    ("Parse/redfish url ipv6", f"redfish://[{V6}]", None, Read(R, "redfish", V6, None, None, IPXE)),
    (
        "Parse/redfish url path ipv6",
        f"redfish://[{V6}]:6233/foo",
        None,
        Read(R, "redfish", V6, 6233, "/foo", IPXE),
    ),
    ("Parse/redfish url no sep", f"redfish:{IP}", None, Read(R, "redfish", IP, None, None, IPXE)),
    # TestStaticDriverInfo
    ("Static/ipmi", f"ipmi://{IP}:6233", None, Read(I_, "ipmi", IP, 6233, None, IPXE)),
    ("Static/libvirt", f"libvirt://{IP}", None, Refused(f"write ipmi://{IP}")),
    ("Static/redfish", f"redfish://{IP}", None, Read(R, "redfish", IP, None, None, IPXE)),
    *(
        (
            f"Static/redfish virtual media{name}",
            f"redfish-virtualmedia{plus}://{IP}",
            None,
            Read(R, f"redfish-virtualmedia{plus}", IP, None, None, VM),
        )
        for plus, name in (("", ""), ("+http", " HTTP"), ("+https", " HTTPS"))
    ),
    (
        "Static/redfish uefi http boot",
        f"redfish-uefihttp+https://{IP}",
        None,
        Read(R, "redfish-uefihttp+https", IP, None, None, HTTP),
    ),
    (
        "Static/idrac redfish",
        f"idrac-redfish://{IP}",
        None,
        Read(R, "idrac-redfish", IP, None, None, IPXE),
    ),
    *(
        (
            f"Static/{vendor} virtual media{name}",
            f"{vendor}-virtualmedia{plus}://{IP}",
            None,
            Read(R, f"{vendor}-virtualmedia{plus}", IP, None, None, VM),
        )
        for vendor in ("ilo5", "idrac")
        for plus, name in (("", ""), ("+http", " HTTP"), ("+https", " HTTPS"))
    ),
    # TestDriverInfo
    ("Info/ipmi default port", f"ipmi://{IP}", None, Read(I_, "ipmi", IP, 623, None, IPXE)),
    (
        "Info/ipmi setting privilege level",
        f"ipmi://{IP}?privilegelevel=OPERATOR",
        None,
        Read(I_, "ipmi", IP, 623, None, IPXE, "operator"),
    ),
    (
        "Info/Redfish",
        f"redfish://{IP}/redfish/v1/foo/bar",
        None,
        Read(R, "redfish", IP, None, "/redfish/v1/foo/bar", IPXE),
    ),
    (
        "Info/Redfish http",
        f"redfish+http://{IP}/foo/bar",
        None,
        Read(R, "redfish+http", IP, None, "/foo/bar", IPXE),
    ),
    (
        "Info/Redfish https",
        f"redfish+https://{IP}/foo/bar",
        None,
        Read(R, "redfish+https", IP, None, "/foo/bar", IPXE),
    ),
    (
        "Info/Redfish port",
        f"redfish://{IP}:8080/foo/bar",
        None,
        Read(R, "redfish", IP, 8080, "/foo/bar", IPXE),
    ),
    (
        "Info/Redfish ipv6",
        f"redfish://[{V6}]/foo/bar",
        None,
        Read(R, "redfish", V6, None, "/foo/bar", IPXE),
    ),
    (
        "Info/Redfish ipv6 port",
        f"redfish://[{V6}]:8080/foo",
        None,
        Read(R, "redfish", V6, 8080, "/foo", IPXE),
    ),
    (
        "Info/Redfish no system ID",
        f"redfish+https://{IP}/",
        None,
        Read(R, "redfish+https", IP, None, None, IPXE),
    ),
    (
        "Info/Redfish wrong system ID",
        f"redfish+https://{IP}/redfish/v1/",
        None,
        Read(R, "redfish+https", IP, None, None, IPXE),
    ),
    (
        "Info/Redfish virtual media",
        f"redfish-virtualmedia://{IP}/redfish/v1/foo/bar",
        None,
        Read(R, "redfish-virtualmedia", IP, None, "/redfish/v1/foo/bar", VM),
    ),
    (
        "Info/Redfish virtual media wrong system ID",
        f"redfish-virtualmedia://{IP}/redfish/v1/",
        None,
        Read(R, "redfish-virtualmedia", IP, None, None, VM),
    ),
    (
        "Info/ilo5 virtual media",
        f"ilo5-virtualmedia://{IP}/foo/bar",
        None,
        Read(R, "ilo5-virtualmedia", IP, None, "/foo/bar", VM),
    ),
    (
        "Info/idrac redfish",
        f"idrac-redfish://{IP}/foo/bar",
        None,
        Read(R, "idrac-redfish", IP, None, "/foo/bar", IPXE),
    ),
    (
        "Info/idrac virtual media",
        f"idrac-virtualmedia://{IP}/redfish/v1/foo/bar",
        None,
        Read(R, "idrac-virtualmedia", IP, None, "/redfish/v1/foo/bar", VM),
    ),
    (
        "Info/idrac virtual media wrong system ID",
        f"idrac-virtualmedia://{IP}/redfish/v1/",
        None,
        Read(R, "idrac-virtualmedia", IP, None, None, VM),
    ),
    # TestUnknownType
    ("UnknownType", f"foo://{IP}", None, Refused("unknown BMC address scheme 'foo://'")),
]
IDS = [row[0] for row in ROWS]


def test_the_table_is_metal3s_48() -> None:
    assert len(ROWS) == 48
    assert len({(name, address) for name, address, *_ in ROWS}) == 48


@pytest.mark.parametrize(("name", "address", "protocol", "expected"), ROWS, ids=IDS)
def test_metal3_address(
    name: str, address: str, protocol: str | None, expected: Read | Refused
) -> None:
    if isinstance(expected, Refused):
        with pytest.raises(AddressError) as refused:
            parse_bmc_address(address, protocol, None, False)
        assert expected.says in str(refused.value)
        return
    bmc = parse_bmc_address(address, protocol, None, False)
    read = Read(
        driver_class(bmc.protocol),
        bmc.protocol,
        bmc.host,
        bmc.port,
        bmc.system,
        bmc.boot or IPXE,
        bmc.privilege,
    )
    assert read == expected
    # The normalized address reads the same again (a recorded plan is re-read by it).
    assert bmc.address.startswith(f"{bmc.protocol}://")
    assert parse_bmc_address(bmc.address, None, None, False) == bmc


BARE = [row for row in ROWS if row[2] is not None]


@pytest.mark.parametrize(
    ("name", "address", "protocol", "expected"), BARE, ids=[r[0] for r in BARE]
)
def test_a_bare_host_without_bmc_protocol_is_asked_about(
    name: str, address: str, protocol: str, expected: Read | Refused
) -> None:
    """Metal3 reads a bare host as IPMI; Strata asks, naming what to write (after any
    fault of the host itself, which writing a scheme would not fix)."""
    with pytest.raises(AddressError) as refused:
        parse_bmc_address(address, None, None, False)
    says = expected.says if isinstance(expected, Refused) else "has no scheme"
    assert says in str(refused.value)
    if isinstance(expected, Read):
        assert f"write ipmi://{address} or redfish://{address}/redfish/v1/Systems/<id>" in str(
            refused.value
        )


def test_vendor_schemes_name_their_vendor_and_every_scheme_its_driver() -> None:
    assert {s: SCHEMES[s].vendor for s in ("idrac-redfish", "ilo5-virtualmedia+http")} == {
        "idrac-redfish": "idrac",
        "ilo5-virtualmedia+http": "ilo5",
    }
    assert {driver_class(s) for s in SCHEMES if s != "ipmi"} == {RedfishDriver}


# -- through a topology: what the plan does with the scheme's boot method -----------

ACCEPTED = [row for row in ROWS if isinstance(row[3], Read)]


def _with_address(address: str, protocol: str | None) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    bmc: dict[str, Any] = {"address": address}
    if protocol is not None:
        bmc["protocol"] = protocol
    at(doc, N0)["bmc"] = bmc
    return doc


@pytest.mark.parametrize(
    ("name", "address", "protocol", "expected"), ACCEPTED, ids=[r[0] for r in ACCEPTED]
)
def test_the_plan_boots_as_the_scheme_says(
    name: str, address: str, protocol: str | None, expected: Read
) -> None:
    """Every scheme's boot method is planned, virtual media on UEFI too."""
    doc = _with_address(address, protocol)
    checked = check_text(dump(doc), "t.yaml")
    errors = [(format_path(d.path), d.message, d.hint) for d in checked.errors]
    assert errors == []
    assert checked.topology is not None
    plan = build_plan(checked.topology).nodes[0]
    assert (plan.boot_method, plan.bmc_address.split("://")[0]) == (
        expected.boot,
        expected.protocol,
    )
