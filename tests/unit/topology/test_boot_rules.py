"""What would fail at apply for a reason in the file fails at validate: each case one
finding, where the value that breaks it is written (once, however many nodes inherit it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.topology.test_rule_findings import (
    N0,
    N1,
    RACK,
    assert_one_error,
    at,
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
        "virtual media for every node: one finding at the default",
        put(("defaults", "boot"), {"method": "virtualmedia"}),
        "defaults.boot.method",
        "boot.method virtualmedia is not supported yet",
    ),
    (
        "virtual media behind an IPMI BMC",
        both(put((*N0, "boot"), {"method": "virtualmedia"}), put((*N0, "bmc"), IPMI)),
        "regions[0].zones[0].racks[0].nodes[0].boot.method",
        "an IPMI BMC has no virtual media",
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


def test_ipv6_elsewhere_is_fine() -> None:
    """Only network boot is IPv4-only: a cluster or storage network may be IPv6."""
    extra = {"name": "v6", "purpose": "storage", "cidr": "fd00:30::/64"}
    assert findings(lambda d: at(d, ("networks",)).append(extra)) == []
