"""What would fail at apply for a reason in the file fails at validate: each case one
finding, where the value that breaks it is written (once, however many nodes inherit it)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from strata.plan import build_plan
from strata.topology import check_text
from strata.topology.loader import Checked
from tests.unit.topology.test_rule_findings import (
    BASE,
    N0,
    N1,
    RACK,
    assert_one_error,
    at,
    dump,
    findings,
    put,
)

IPMI = {"address": "ipmi://10.0.0.20:623"}


def both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        for one in edits:
            one(doc)

    return edit


def _ipv6_provisioning(doc: dict[str, Any]) -> None:
    """The provisioning network, its DHCP range, the nodes' and the VIP's addresses: IPv6."""
    range_ = {"start": "fd00:20::100", "end": "fd00:20::1ff"}
    at(doc, ("networks", 1)).update(cidr="fd00:20::/64", gateway="fd00:20::1", dhcpRange=range_)
    for i, node in enumerate(at(doc, (*RACK, "nodes"))):
        node["nics"][0]["ip"] = f"fd00:20::2{i}"
    at(doc, ("layers", 0, "endpoint"))["vip"] = "fd00:20::10"


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "uefi http boot on bios, inherited from two levels",
        both(
            put(("defaults", "boot"), {"method": "http"}),
            put((*RACK, "defaults", "boot"), {"firmware": "bios"}),
        ),
        "regions[0].zones[0].racks[0].defaults.boot.firmware",
        "boot.method http (UEFI HTTP Boot) needs firmware uefi, not bios",
    ),
    (
        "uefi http boot behind an IPMI BMC",
        both(put((*N1, "boot"), {"method": "http"}), put((*N1, "bmc"), IPMI)),
        "regions[0].zones[0].racks[0].nodes[1].boot.method",
        "an IPMI BMC cannot ask for UEFI HTTP Boot",
    ),
    (
        "virtual media behind an IPMI BMC",
        both(put((*N0, "boot"), {"method": "virtualmedia"}), put((*N0, "bmc"), IPMI)),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "an IPMI BMC has no virtual media",
    ),
    (
        "boot.method ipxe against a virtual-media scheme",
        both(
            put((*N0, "bmc"), {"address": "ilo5-virtualmedia://10.0.0.10"}),
            put((*N0, "boot"), {"method": "ipxe"}),
        ),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "boot.method ipxe for n0 contradicts its BMC address ilo5-virtualmedia://10.0.0.10: "
        "ilo5-virtualmedia:// boots through virtual media",
    ),
    (
        "an inherited boot.method against a UEFI HTTP Boot scheme",
        both(
            put(("defaults", "boot"), {"method": "pxe"}),
            put((*N1, "bmc"), {"address": "redfish-uefihttp+https://10.0.0.11"}),
        ),
        "defaults.boot.method",
        "redfish-uefihttp+https:// boots through UEFI HTTP Boot",
    ),
    (
        "a UEFI HTTP Boot scheme on bios",
        both(
            put((*RACK, "defaults", "boot"), {"firmware": "bios"}),
            put((*N1, "bmc"), {"address": "redfish-uefihttp://10.0.0.11/redfish/v1/Systems/1"}),
        ),
        "regions[0].zones[0].racks[0].nodes[1].bmc.address",
        "redfish-uefihttp:// (UEFI HTTP Boot) needs firmware uefi, not bios",
    ),
    (
        "a fallback the firmware cannot do: one finding where the list is",
        put(("defaults", "boot"), {"method": ["virtualmedia", "http"], "firmware": "bios"}),
        "defaults.boot.method",
        "boot.method http (UEFI HTTP Boot) needs firmware uefi, not bios",
    ),
    (
        "a fallback an IPMI BMC cannot do",
        both(put((*N0, "boot"), {"method": ["ipxe", "virtualmedia"]}), put((*N0, "bmc"), IPMI)),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "an IPMI BMC has no virtual media",
    ),
    (
        "a method listed twice",
        put((*N0, "boot"), {"method": ["ipxe", "http", "ipxe"]}),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "a boot method is listed twice",
    ),
    (
        "two names of one road",
        put((*N0, "boot"), {"method": ["pxe", "ipxe"]}),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "pxe and ipxe boot the same way",
    ),
    (
        "an empty list",
        put((*N0, "boot"), {"method": []}),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "list at least one boot method",
    ),
    (
        "an IPv6 provisioning network",
        _ipv6_provisioning,
        "networks[1].cidr",
        "provisioning network prov is IPv6",
    ),
    (
        "a stagger of infinity",
        put((*RACK, "powerBudget"), {"maxConcurrentPowerOn": 2, "staggerSeconds": float("inf")}),
        "regions[0].zones[0].racks[0].powerBudget.staggerSeconds",
        "finite number",
    ),
    (
        "a stagger of a day",
        put((*RACK, "powerBudget"), {"maxConcurrentPowerOn": 2, "staggerSeconds": 86400}),
        "regions[0].zones[0].racks[0].powerBudget.staggerSeconds",
        "less than or equal to 3600",
    ),
]


@pytest.mark.parametrize(
    ("edit", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_mistake_one_finding(
    edit: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    assert_one_error(edit, path, message)


def checked(edit: Callable[[dict[str, Any]], None]) -> Checked:
    doc = copy.deepcopy(BASE)
    edit(doc)
    return check_text(dump(doc), "t.yaml")


@pytest.mark.parametrize(
    "edit",
    [
        put(("defaults", "boot"), {"method": "virtualmedia"}),
        put(
            (*N0, "bmc"), {"address": "redfish-virtualmedia+http://10.0.0.10/redfish/v1/Systems/1"}
        ),
        both(
            put(("defaults", "bmc"), {"credentials": "c1", "protocol": "idrac-virtualmedia"}),
            put((*N0, "bmc"), {"address": "10.0.0.10"}),
        ),
        put(("defaults", "boot"), {"method": ["virtualmedia", "http", "ipxe"]}),
    ],
    ids=["method", "scheme", "protocol", "list"],
)
def test_virtual_media_on_uefi_is_planned(edit: Callable[[dict[str, Any]], None]) -> None:
    """The image boots GRUB on UEFI (strata.boot.media): the base document's firmware is
    UEFI, and virtual media there, however it is asked for, is no finding."""
    found = checked(edit)
    assert found.errors == [] and found.topology is not None
    assert found.topology.nodes[0].boot.firmware == "uefi"


def test_ipv6_elsewhere_is_fine() -> None:
    """Only network boot is IPv4-only: a cluster or storage network may be IPv6."""
    extra = {"name": "v6", "purpose": "storage", "cidr": "fd00:30::/64"}
    assert findings(lambda d: at(d, ("networks",)).append(extra)) == []


def test_the_hint_names_the_address_to_write() -> None:
    """A contradicted boot method: the address of the same vendor and transport that boots
    with it; UEFI HTTP Boot, which Strata does, may also be kept by dropping boot.method."""
    doc_edits = both(
        put((*N0, "bmc"), {"address": "idrac-virtualmedia+http://10.0.0.10/redfish/v1/Systems/1"}),
        put((*N0, "boot"), {"method": "ipxe"}),
        put((*N1, "bmc"), {"address": "redfish-uefihttp://10.0.0.11"}),
        put((*N1, "boot"), {"method": "pxe"}),
    )
    hints = [d.hint for d in checked(doc_edits).errors]
    assert hints == [
        "write idrac-redfish+http://10.0.0.10/redfish/v1/Systems/1 to boot with ipxe",
        "write redfish://10.0.0.11 to boot with pxe, or drop boot.method to boot through "
        "UEFI HTTP Boot",
    ]


def test_uefi_http_boot_from_the_scheme_is_planned() -> None:
    found = checked(put((*N1, "bmc"), {"address": "redfish-uefihttp+https://10.0.0.11"}))
    assert found.topology is not None
    assert [n.boot.method for n in found.topology.nodes] == ["ipxe", "http"]


BIOS = put((*RACK, "defaults", "boot"), {"firmware": "bios"})
VM_ILO = put((*N0, "bmc"), {"address": "ilo5-virtualmedia+http://10.0.0.10/redfish/v1/Systems/1"})
ILO = put((*N0, "bmc"), {"address": "ilo5-redfish+http://10.0.0.10/redfish/v1/Systems/1"})
UEFIHTTP = put((*N0, "bmc"), {"address": "redfish-uefihttp://10.0.0.10/redfish/v1/Systems/1"})
PLAIN = put((*N0, "bmc"), {"address": "redfish://10.0.0.10/redfish/v1/Systems/1"})

# (case, the mistake, the hints given, an edit that follows the (first) hint and is clean)
FOLLOWED: list[
    tuple[str, Callable[[dict[str, Any]], None], list[str], Callable[[dict[str, Any]], None]]
] = [
    (
        "a vendor virtual-media scheme with boot.method http on bios",
        both(VM_ILO, put((*N0, "boot"), {"method": "http"}), BIOS),
        [
            "write ilo5-redfish+http://10.0.0.10/redfish/v1/Systems/1 and set boot.firmware: "
            "uefi, or write ilo5-redfish+http://10.0.0.10/redfish/v1/Systems/1 with "
            "boot.method: ipxe for BIOS machines",
            "write ilo5-redfish+http://10.0.0.10/redfish/v1/Systems/1 to boot with http",
        ],
        both(ILO, put((*N0, "boot"), {"method": "ipxe"}), BIOS),
    ),
    (
        "redfish-uefihttp on bios",
        both(UEFIHTTP, BIOS),
        [
            "set boot.firmware: uefi, or write redfish://10.0.0.10/redfish/v1/Systems/1 with "
            "boot.method: ipxe for BIOS machines"
        ],
        both(PLAIN, put((*N0, "boot"), {"method": "ipxe"}), BIOS),
    ),
    (
        "redfish-uefihttp with boot.method pxe on bios: dropping boot.method is not a fix",
        both(UEFIHTTP, put((*N0, "boot"), {"method": "pxe"}), BIOS),
        [
            "write redfish://10.0.0.10/redfish/v1/Systems/1 to boot with pxe (UEFI HTTP Boot, "
            "the scheme's, needs firmware uefi)"
        ],
        both(PLAIN, put((*N0, "boot"), {"method": "pxe"}), BIOS),
    ),
]


@pytest.mark.parametrize(
    ("mistake", "hints", "followed"), [c[1:] for c in FOLLOWED], ids=[c[0] for c in FOLLOWED]
)
def test_a_hint_followed_leads_to_no_other_error(
    mistake: Callable[[dict[str, Any]], None],
    hints: list[str],
    followed: Callable[[dict[str, Any]], None],
) -> None:
    assert [d.hint for d in checked(mistake).errors] == hints
    assert checked(followed).errors == []


def test_the_uefi_half_of_the_hint_is_clean_too() -> None:
    """redfish-uefihttp on bios: boot.firmware uefi, the hint's first way, is clean."""
    assert checked(both(UEFIHTTP, put((*N0, "boot"), {"firmware": "uefi"}), BIOS)).errors == []


def test_a_list_of_methods_is_planned_in_order() -> None:
    found = checked(
        put(("defaults", "boot"), {"method": ["virtualmedia", "ipxe"], "firmware": "bios"})
    )
    assert found.errors == [] and found.topology is not None
    node = build_plan(found.topology).nodes[0]
    assert node.boot_methods == ("virtualmedia", "ipxe")
