"""BMC addresses in a topology: one BMC however its address is spelled, and an address
error that names its node (as the boot rules' errors do), located where it is written."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from strata.topology import check_text
from tests.unit.topology.test_rule_findings import BASE, N0, N1, at, dump, findings, put

ADDRESS = "regions[0].zones[0].racks[0].nodes[1].bmc.address"


def _both(n0: str, n1: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        at(doc, N0)["bmc"] = {"address": n0}
        at(doc, N1)["bmc"] = {"address": n1}

    return edit


SAME_BMC = [
    (
        "https's port written out",
        "redfish://10.0.0.5/redfish/v1/Systems/1",
        "redfish://10.0.0.5:443/redfish/v1/Systems/1",
    ),
    (
        "http's port written out",
        "redfish+http://10.0.0.5/redfish/v1/Systems/1",
        "idrac-redfish+http://10.0.0.5:80/redfish/v1/Systems/1",
    ),
    ("IPv6 spelled two ways", "ipmi://[fd00::5]", "ipmi://[fd00:0::5]:623"),
    (
        "IPv6 in upper case",
        "redfish://[fd00::5]/redfish/v1/Systems/1",
        "redfish://[FD00::5]:443/redfish/v1/Systems/1/",
    ),
    ("a name in upper case", "ipmi://bmc-0.example.com", "ipmi://BMC-0.example.com"),
    ("IPv4 mapped into IPv6", "ipmi://10.0.0.5", "ipmi://[::ffff:10.0.0.5]"),
]


@pytest.mark.parametrize(("n0", "n1"), [c[1:] for c in SAME_BMC], ids=[c[0] for c in SAME_BMC])
def test_one_bmc_however_spelled(n0: str, n1: str) -> None:
    errors = [f for f in findings(_both(n0, n1)) if f[0] == "error"]
    assert [(path, message.split(" (line ")[0]) for _, path, message in errors] == [
        (ADDRESS, f"BMC {n1} of node n1 is already used by node n0")
    ]


DIFFERENT_BMC = [
    (
        "http and https on one host",
        "redfish+http://10.0.0.5/redfish/v1/Systems/1",
        "redfish://10.0.0.5/redfish/v1/Systems/1",
    ),
    ("another IPMI port", "ipmi://[fd00::5]", "ipmi://[fd00::5]:6230"),
    ("another zone", "ipmi://[fe80::5%eth0]", "ipmi://[fe80::5%eth1]"),
]


@pytest.mark.parametrize(
    ("n0", "n1"), [c[1:] for c in DIFFERENT_BMC], ids=[c[0] for c in DIFFERENT_BMC]
)
def test_different_bmcs_stay_apart(n0: str, n1: str) -> None:
    assert [f for f in findings(_both(n0, n1)) if f[0] == "error"] == []


ERRORS = [
    ("not an IPv4 address", "redfish://192.168.100.300/redfish/v1/Systems/1", "n1: '192.168"),
    ("port 0", "ipmi://10.0.0.11:0", "n1: the BMC address port in '10.0.0.11:0'"),
    ("no scheme", "10.0.0.11", "n1: '10.0.0.11' has no scheme"),
    ("the Systems collection", "redfish://10.0.0.11/redfish/v1/Systems", "n1: '/redfish/v1/"),
]


@pytest.mark.parametrize(("address", "says"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_an_address_error_names_its_node_and_place(address: str, says: str) -> None:
    doc = copy.deepcopy(BASE)
    put((*N1, "bmc", "address"), address)(doc)
    checked = check_text(dump(doc), "t.yaml")
    assert len(checked.errors) == 1
    error = checked.errors[0]
    assert error.message.startswith(says)
    assert error.render().startswith(f"t.yaml:{error.line}:{error.column}: error: {ADDRESS}: n1: ")
    assert error.line > 0


def test_a_generated_node_is_named_as_generated() -> None:
    doc = copy.deepcopy(BASE)
    node = at(doc, N1)
    node.update(name="w{index}", generate={"count": 2, "start": 1})
    node["bmc"] = {"address": "redfish://10.0.0.{index}00:0/redfish/v1/Systems/1"}
    node["nics"] = [{"mac": "52:54:00:00:01:{index:02}", "network": "prov", "ip": "dhcp"}]
    checked = check_text(dump(doc), "t.yaml")
    assert [d.message for d in checked.errors] == [
        "w1: the BMC address port in '10.0.0.100:0' is not a number from 1 to 65535 "
        "(generated item #1)"
    ]
