"""Parse the addresses a topology names: MACs, IPs and BMC URLs.

Each parser returns the normalized value or raises ``AddressError`` with a
message fit for a person. Messages never repeat a URL's user-info part, which
could hold a password.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import SplitResult, parse_qsl, urlsplit

from strata.topology.bmc_hosts import AddressError, Unbracketed, parse_authority, split_authority
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

# IPMI privilege levels a session may ask for (IPMI 2.0, table 22-28; Ironic's ipmi_priv_level).
IPMI_PRIVILEGES = ("callback", "user", "operator", "administrator")
# The query key: Strata's ``privilege``; Metal3's ``privilegelevel`` (ipmi.go).
_PRIVILEGE_KEYS = ("privilege", "privilegelevel")
# Redfish resources an address may name by mistake: the Systems collection itself, and
# the service root's other collections, whose members are not systems (DSP0268).
_COLLECTION = "/redfish/v1/systems"
_NOT_SYSTEMS = {"/redfish/v1/managers": "a Manager", "/redfish/v1/chassis": "a Chassis"}
_LEAVE_OUT = "or leave the path out for the BMC's only system"


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
    (Metal3 would read it as IPMI; Strata asks). The host is a dotted-quad IPv4
    address, an IPv6 address in brackets (with a zone, ``[fe80::1%eth0]``, for IPMI
    only) or a host name (bmc_hosts). The Redfish path is the system's, any path but
    another resource's (Metal3's redfish_system_id); none, ``/`` or ``/redfish/v1``
    mean the BMC's only system. Returns the ``BMC`` with the address normalized to
    ``scheme://…``; raises ``AddressError`` saying what is wrong and what to write.
    """
    address = text.strip()
    if "@" in address:  # before any message that could quote the address
        raise AddressError(
            "the BMC address carries a user name or password: put them in credentials "
            "and refer to them with bmc.credentials"
        )
    scheme, rest, written = _split(address, protocol)
    family, default_port = BMC_SCHEMES[scheme]
    authority, tail = split_authority(rest)
    try:
        host, port = parse_authority(authority, family)
    except Unbracketed as exc:
        if exc.bracketed is None:
            raise
        parse_authority(exc.bracketed, family)  # in brackets, still refused (a zone)?
        to_write = f"{written}{exc.bracketed}{tail}"
        raise AddressError(
            str(exc) if to_write == exc.bracketed else f"{exc} (write {to_write})"
        ) from None
    url = _urlsplit(f"{scheme}://{rest}")
    if url.fragment:
        raise AddressError("a BMC address takes no #fragment")
    system = _system(family, url.path)
    privilege = _privilege(family, url.query)
    return BMC(
        address=url.geturl(),
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


def _split(address: str, protocol: str | None) -> tuple[str, str, str]:
    """``(scheme, rest after scheme://, what to write before the host in a hint)``."""
    scheme, rest = split_scheme(address)
    if scheme is None:
        if protocol is None:
            raise AddressError(_no_scheme(address))
        scheme, rest = protocol.lower(), address
        written = ""  # a bare host stays bare: bmc.protocol names its scheme
    else:
        written = f"{scheme}://"
    if scheme in REFUSED_SCHEMES:
        reason, instead = REFUSED_SCHEMES[scheme]
        raise AddressError(f"{reason}: write {instead}://{_host_to_write(rest, 'ipmi')}")
    if scheme not in SCHEMES:
        raise AddressError(f"unknown BMC address scheme '{scheme}://' (known: {_known()})")
    return scheme, rest, written


def _host_to_write(rest: str, family: str) -> str:
    """The ``host[:port]`` of ``rest`` as an address should write it (an IPv6 address in
    brackets); a host no scheme would fix is refused first: it needs fixing too."""
    authority = split_authority(rest)[0]
    try:
        parse_authority(authority, family)
    except Unbracketed as exc:
        if exc.bracketed is None:
            raise
        return exc.bracketed
    return authority


def _no_scheme(address: str) -> str:
    """What to write for an address without a scheme: ipmi:// unless it has a path (IPMI
    takes none), redfish:// unless it has a query or an IPv6 zone (Redfish takes none)."""
    host = _host_to_write(address, "ipmi")
    tail = split_authority(address)[1]
    path, query = re.split(r"[?#]", tail, maxsplit=1)[0], "?" in tail
    options = []
    if not path.strip("/"):
        options.append(f"ipmi://{host}{tail}")
    if not query and "%" not in host:
        try:
            named = path.strip("/") and _system("redfish", path)
        except AddressError:
            named = None  # not a system: the hint names one to write
        options.append(f"redfish://{host}{path if named else '/redfish/v1/Systems/<id>'}")
    if not options:
        options = [f"ipmi://{host}?privilege=LEVEL", f"redfish://{host}{path}"]
    return (
        f"'{address}' has no scheme (Metal3 reads a bare host as IPMI; Strata asks): "
        f"write {' or '.join(options)}, or set bmc.protocol"
    )


def _urlsplit(text: str) -> SplitResult:
    try:
        return urlsplit(text)
    except ValueError:  # parse_authority checked the host: not expected
        raise AddressError("the BMC address is not a URL") from None


def _known() -> str:
    bases = [s for s in SCHEMES if "+" not in s and f"{s}+http" in SCHEMES]
    return (
        ", ".join(bases)
        + " (each also +http, +https), "
        + ", ".join(s for s in SCHEMES if "+" not in s and s not in bases)
    )


def _system(family: str, path: str) -> str | None:
    """The Redfish system path, as Metal3's redfishAccessDetails.DriverInfo passes it
    (redfish.go): any path, except none, ``/`` and ``/redfish/v1``: the only system;
    the Systems collection and a Manager's or Chassis' path are refused."""
    system = path.rstrip("/")
    if family == "ipmi":
        if system:
            raise AddressError(f"an ipmi:// address takes no path ('{path}'): ipmi://host[:port]")
        return None
    lowered = system.lower()
    if lowered == _COLLECTION:
        raise AddressError(
            f"'{path}' is the Systems collection, not a system: name a member of it "
            f"(/redfish/v1/Systems/<id>), {_LEAVE_OUT}"
        )
    for collection, what in _NOT_SYSTEMS.items():
        if lowered == collection or lowered.startswith(f"{collection}/"):
            raise AddressError(
                f"'{path}' is {what} resource, not a system: a Redfish address names a "
                f"computer system, a member of /redfish/v1/Systems (/redfish/v1/Systems/<id>), "
                f"{_LEAVE_OUT}"
            )
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
