"""One planted mistake per rule: each gives its finding, at its path, and nothing else.

Every case edits a copy of a small valid document (the lab example's shape) and
expects exactly one error (or warning), so a rule that stops firing, or fires
where it should not, fails here.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import pytest
from ruamel.yaml import YAML

from strata.topology import check_text
from strata.topology.diagnostics import format_path

BASE: dict[str, Any] = {
    "apiVersion": "strata.dev/v1alpha1",
    "kind": "Topology",
    "metadata": {"name": "t"},
    "defaults": {"os": {"name": "flatcar", "version": "4081.2.0"}, "bmc": {"credentials": "c1"}},
    "credentials": [{"name": "c1", "username": "admin", "password": {"env": "PW"}}],
    "networks": [
        {"name": "bmc", "purpose": "bmc", "cidr": "10.0.0.0/24"},
        {
            "name": "prov",
            "purpose": "provisioning",
            "cidr": "10.1.0.0/24",
            "gateway": "10.1.0.1",
            "dhcpRange": {"start": "10.1.0.100", "end": "10.1.0.199"},
        },
    ],
    "layers": [
        {
            "name": "mgmt",
            "distribution": {"name": "kubeadm", "version": "1.31.2"},
            "endpoint": {"vip": "10.1.0.10"},
            "podCIDR": "10.244.0.0/16",
            "serviceCIDR": "10.96.0.0/16",
        }
    ],
    "regions": [
        {
            "name": "r",
            "zones": [
                {
                    "name": "z",
                    "racks": [
                        {
                            "name": "k",
                            "defaults": {"layer": "mgmt"},
                            "switches": [{"name": "tor", "ports": 4}],
                            "nodes": [
                                {
                                    "name": "n0",
                                    "role": "control-plane",
                                    "bmc": {"address": "redfish://10.0.0.10/redfish/v1/Systems/1"},
                                    "nics": [
                                        {
                                            "mac": "52:54:00:00:00:01",
                                            "network": "prov",
                                            "ip": "10.1.0.11",
                                            "switchPort": {"switch": "tor", "port": 1},
                                        }
                                    ],
                                },
                                {
                                    "name": "n1",
                                    "bmc": {"address": "redfish://10.0.0.11/redfish/v1/Systems/1"},
                                    "nics": [
                                        {
                                            "mac": "52:54:00:00:00:02",
                                            "network": "prov",
                                            "ip": "10.1.0.12",
                                            "switchPort": {"switch": "tor", "port": 2},
                                        }
                                    ],
                                },
                            ],
                        }
                    ],
                }
            ],
        }
    ],
}
RACK = ("regions", 0, "zones", 0, "racks", 0)
N0, N1 = (*RACK, "nodes", 0), (*RACK, "nodes", 1)


def at(doc: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def put(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        at(doc, path[:-1])[path[-1]] = value

    return edit


def append(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: at(doc, path).append(value)


def dump(doc: dict[str, Any]) -> str:
    buffer = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, buffer)
    return buffer.getvalue()


def findings(edit: Callable[[dict[str, Any]], None] | None = None) -> list[tuple[str, str, str]]:
    doc = copy.deepcopy(BASE)
    if edit:
        edit(doc)
    checked = check_text(dump(doc), "t.yaml")
    return [(str(d.severity), format_path(d.path), d.message) for d in checked.diagnostics]


def test_the_base_document_is_clean() -> None:
    assert findings() == []


NODE2 = {
    "name": "n2",
    "bmc": {"address": "redfish://10.0.0.12/redfish/v1/Systems/1"},
    "nics": [{"mac": "52:54:00:00:00:03", "network": "prov", "ip": "10.1.0.13"}],
}

CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # unique names
    (
        "network name",
        append(("networks",), {"name": "prov", "purpose": "storage", "cidr": "10.9.0.0/24"}),
        "networks[2].name",
        "network 'prov' is already defined",
    ),
    (
        "layer name",
        append(
            ("layers",),
            {
                **copy.deepcopy(BASE["layers"][0]),
                "endpoint": {"vip": "10.1.0.20"},
                "podCIDR": "10.245.0.0/16",
                "serviceCIDR": "10.97.0.0/16",
            },
        ),
        "layers[1].name",
        "layer 'mgmt' is already defined",
    ),
    (
        "credentials name",
        append(("credentials",), {"name": "c1", "username": "x", "password": {"env": "Y"}}),
        "credentials[1].name",
        "credentials 'c1' is already defined",
    ),
    (
        "region name",
        append(("regions",), {"name": "r"}),
        "regions[1].name",
        "region 'r' is already defined",
    ),
    (
        "zone name",
        append(("regions", 0, "zones"), {"name": "z"}),
        "regions[0].zones[1].name",
        "zone 'z' is already defined",
    ),
    (
        "rack name",
        append(("regions", 0, "zones", 0, "racks"), {"name": "k"}),
        "regions[0].zones[0].racks[1].name",
        "rack 'k' is already defined",
    ),
    (
        "switch name",
        append((*RACK, "switches"), {"name": "tor", "ports": 2}),
        "regions[0].zones[0].racks[0].switches[1].name",
        "switch (rack k) 'tor' is already defined",
    ),
    (
        "node name",
        put((*N1, "name"), "n0"),
        "regions[0].zones[0].racks[0].nodes[1].name",
        "node 'n0' is already defined",
    ),
    # identities
    (
        "MAC",
        put((*N1, "nics", 0, "mac"), "52:54:00:00:00:01"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].mac",
        "MAC 52:54:00:00:00:01 of node n1 is already used by node n0",
    ),
    (
        "IP",
        put((*N1, "nics", 0, "ip"), "10.1.0.11"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "IP address 10.1.0.11 of node n1 is already used by node n0",
    ),
    (
        "IP = gateway",
        put((*N1, "nics", 0, "ip"), "10.1.0.1"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "is already used by network prov (gateway)",
    ),
    (
        "IP = VIP",
        put((*N1, "nics", 0, "ip"), "10.1.0.10"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "is already used by layer mgmt (VIP)",
    ),
    (
        "BMC",
        put((*N1, "bmc", "address"), "redfish+https://10.0.0.10/redfish/v1/Systems/1"),
        "regions[0].zones[0].racks[0].nodes[1].bmc.address",
        "is already used by node n0",
    ),
    # addressing
    (
        "IP outside CIDR",
        put((*N1, "nics", 0, "ip"), "10.2.0.12"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "10.2.0.12 of node n1 is outside prov (10.1.0.0/24)",
    ),
    (
        "IP in DHCP range",
        put((*N1, "nics", 0, "ip"), "10.1.0.150"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "is inside the DHCP range of prov",
    ),
    (
        "broadcast IP",
        put((*N1, "nics", 0, "ip"), "10.1.0.255"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "is the network or broadcast address",
    ),
    (
        "gateway outside",
        put(("networks", 1, "gateway"), "10.2.0.1"),
        "networks[1].gateway",
        "gateway 10.2.0.1 is outside 10.1.0.0/24",
    ),
    (
        "DHCP range outside",
        put(("networks", 1, "dhcpRange"), {"start": "10.1.0.100", "end": "10.1.1.10"}),
        "networks[1].dhcpRange.end",
        "10.1.1.10 is outside 10.1.0.0/24",
    ),
    (
        "DHCP range reversed",
        put(("networks", 1, "dhcpRange"), {"start": "10.1.0.199", "end": "10.1.0.100"}),
        "networks[1].dhcpRange",
        "the range starts (10.1.0.199) after it ends (10.1.0.100)",
    ),
    (
        "pod CIDR overlap",
        put(("layers", 0, "podCIDR"), "10.1.0.0/16"),
        "layers[0].podCIDR",
        "overlaps prov (10.1.0.0/24)",
    ),
    (
        "service CIDR overlap",
        put(("layers", 0, "serviceCIDR"), "10.0.0.0/23"),
        "layers[0].serviceCIDR",
        "overlaps bmc (10.0.0.0/24)",
    ),
    (
        "pod overlaps service",
        put(("layers", 0, "podCIDR"), "10.96.0.0/17"),
        "layers[0].podCIDR",
        "overlaps serviceCIDR (10.96.0.0/16)",
    ),
    (
        "no provisioning network",
        put(("networks", 1, "purpose"), "cluster"),
        "networks",
        "no network with purpose 'provisioning'",
    ),
    # references
    (
        "unknown layer",
        put((*N1, "layer"), "mgnt"),
        "regions[0].zones[0].racks[0].nodes[1].layer",
        "unknown layer 'mgnt'",
    ),
    (
        "unknown credentials",
        put(("defaults", "bmc", "credentials"), "c2"),
        "defaults.bmc.credentials",
        "unknown credentials 'c2'",
    ),
    (
        "unknown network",
        put((*N1, "nics", 0, "network"), "storage"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].network",
        "unknown network 'storage'",
    ),
    (
        "unknown switch",
        put((*N1, "nics", 0, "switchPort"), {"switch": "tor2", "port": 2}),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].switchPort.switch",
        "no switch 'tor2' in rack k",
    ),
    (
        "unknown port",
        put((*N1, "nics", 0, "switchPort"), {"switch": "tor", "port": 9}),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].switchPort.port",
        "switch tor has no port '9'",
    ),
    (
        "port used twice",
        put((*N1, "nics", 0, "switchPort"), {"switch": "tor", "port": 1}),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].switchPort",
        "switch port tor:1 of node n1 is already used by node n0",
    ),
    (
        "endpoint network",
        put(("layers", 0, "endpoint"), {"vip": "10.1.0.10", "network": "nope"}),
        "layers[0].endpoint.network",
        "unknown network 'nope'",
    ),
    (
        "VIP outside its network",
        put(("layers", 0, "endpoint"), {"vip": "10.0.0.50", "network": "prov"}),
        "layers[0].endpoint.vip",
        "VIP 10.0.0.50 is outside prov",
    ),
    (
        "VIP in no network",
        put(("layers", 0, "endpoint"), {"vip": "172.31.0.1"}),
        "layers[0].endpoint.vip",
        "is in no declared network",
    ),
    (
        "first layer provisioned by",
        put(("layers", 0, "provisionedBy"), "mgmt"),
        "layers[0].provisionedBy",
        "the first layer is provisioned by the seed",
    ),
    # clusters
    (
        "no control plane",
        put((*N0, "role"), "worker"),
        "layers[0].name",
        "layer 'mgmt' has no control-plane node",
    ),
    # what is written
    (
        "private key",
        put(("defaults", "sshKeys"), ["-----BEGIN OPENSSH PRIVATE KEY-----"]),
        "defaults.sshKeys[0]",
        "this is a private key",
    ),
    (
        "not a public key",
        put(("defaults", "sshKeys"), ["hello"]),
        "defaults.sshKeys[0]",
        "not an SSH public key",
    ),
    (
        "label key",
        put(("defaults", "labels"), {"bad key!": "x"}),
        "defaults.labels.bad key!",
        "is not a Kubernetes label key",
    ),
    (
        "label value",
        put(("defaults", "labels"), {"ok": "no spaces"}),
        "defaults.labels.ok",
        "is not a Kubernetes label value",
    ),
    (
        "OS channel",
        put(("defaults", "os", "channel"), "testing"),
        "defaults.os.channel",
        "'testing' is not a flatcar channel",
    ),
    (
        "bad MAC",
        put((*N1, "nics", 0, "mac"), "52:54:00:zz:00:02"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].mac",
        "is not a MAC address",
    ),
    (
        "multicast MAC",
        put((*N1, "nics", 0, "mac"), "01:00:5e:00:00:01"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].mac",
        "is a multicast MAC",
    ),
    (
        "bad IP",
        put((*N1, "nics", 0, "ip"), "10.1.0"),
        "regions[0].zones[0].racks[0].nodes[1].nics[0].ip",
        "'10.1.0' is not an IP address",
    ),
    (
        "BMC, spelled with a vendor's scheme",
        put((*N1, "bmc", "address"), "idrac-redfish://10.0.0.10/redfish/v1/Systems/1"),
        "regions[0].zones[0].racks[0].nodes[1].bmc.address",
        "is already used by node n0",
    ),
    (
        "BMC scheme",
        put((*N1, "bmc", "address"), "http://10.0.0.11/"),
        "regions[0].zones[0].racks[0].nodes[1].bmc.address",
        "unknown BMC address scheme 'http://'",
    ),
    (
        "BMC without scheme",
        put((*N1, "bmc", "address"), "10.0.0.11"),
        "regions[0].zones[0].racks[0].nodes[1].bmc.address",
        "has no scheme",
    ),
    (
        "ipmi with a path",
        put((*N1, "bmc", "address"), "ipmi://10.0.0.11/x"),
        "regions[0].zones[0].racks[0].nodes[1].bmc.address",
        "an ipmi:// address takes no path",
    ),
    (
        "boot MAC not a NIC",
        put((*N1, "bootMAC"), "52:54:00:00:00:99"),
        "regions[0].zones[0].racks[0].nodes[1].bootMAC",
        "boot MAC 52:54:00:00:00:99 of node n1 is none of its NICs",
    ),
    (
        "node name not a DNS label",
        put((*N1, "name"), "N1_bad"),
        "regions[0].zones[0].racks[0].nodes[1].name",
        "'N1_bad' is not a valid name",
    ),
    (
        "installDisk and hints",
        lambda d: d["defaults"].update(installDisk="/dev/sda", rootDeviceHints={"model": "X"}),
        "defaults",
        "set either 'installDisk' or 'rootDeviceHints', not both",
    ),
    (
        "version as a number",
        put(("defaults", "os", "version"), 4081.2),
        "defaults.os.version",
        "input should be a valid string",
    ),
    (
        "unknown key",
        put((*N1, "rol"), "worker"),
        "regions[0].zones[0].racks[0].nodes[1].rol",
        "unknown key 'rol'",
    ),
    (
        "literal password",
        put(("credentials", 0, "password"), "hunter2"),
        "credentials[0].password",
        "a secret must not be written",
    ),
    (
        "missing required",
        lambda d: at(d, N1).pop("bmc"),
        "regions[0].zones[0].racks[0].nodes[1].bmc",
        "'bmc' is required",
    ),
]


@pytest.mark.parametrize(
    ("edit", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_mistake_one_finding(
    edit: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    assert_one_error(edit, path, message)


def assert_one_error(edit: Callable[[dict[str, Any]], None], path: str, message: str) -> None:
    """``edit`` of the base document gives exactly one error, at ``path``, saying ``message``."""
    found = [f for f in findings(edit) if f[0] == "error"]
    assert len(found) == 1, found
    assert found[0][1] == path
    assert message in found[0][2]


def test_an_even_number_of_control_planes_is_a_warning_only() -> None:
    def two(doc: dict[str, Any]) -> None:
        at(doc, N1)["role"] = "control-plane"

    assert findings(two) == [
        ("warning", "layers[0].name", "layer 'mgmt' has 2 control-plane nodes")
    ]


def test_a_bmc_outside_every_bmc_network_is_a_warning() -> None:
    found = findings(put((*N1, "bmc", "address"), "redfish://10.5.0.11/redfish/v1/Systems/1"))
    assert found == [
        (
            "warning",
            "regions[0].zones[0].racks[0].nodes[1].bmc.address",
            "BMC 10.5.0.11 of node n1 is in no network with purpose bmc",
        )
    ]


def test_two_systems_behind_one_bmc_are_fine() -> None:
    assert findings(put((*N1, "bmc", "address"), "redfish://10.0.0.10/redfish/v1/Systems/2")) == []


def test_inheritance_merges_objects_and_labels_replaces_lists() -> None:
    doc = copy.deepcopy(BASE)
    doc["defaults"]["labels"] = {"a": "top", "b": "top"}
    doc["defaults"]["sshKeys"] = ["ssh-ed25519 AAAAtop top"]
    at(doc, RACK)["defaults"].update(
        labels={"b": "rack"}, sshKeys=["ssh-ed25519 AAAArack rack"], os={"channel": "beta"}
    )
    topology = check_text(dump(doc), "t.yaml").topology
    assert topology is not None
    node = topology.node("n1")
    assert dict(node.labels) == {"a": "top", "b": "rack"}
    assert node.ssh_keys == ("ssh-ed25519 AAAArack rack",)
    assert (node.os.name, node.os.channel, node.os.version) == ("flatcar", "beta", "4081.2.0")
    assert (node.role, node.boot.method, node.boot.firmware) == ("worker", "ipxe", "uefi")
    assert node.boot_mac == "52:54:00:00:00:02"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["defaults"]["os"].pop("version"), "no OS version for this node"),
        (lambda d: at(d, RACK).pop("defaults"), "no layer for this node"),
    ],
    ids=["no OS version", "no layer"],
)
def test_a_setting_nobody_gives_is_reported_at_each_node(
    edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    assert findings(edit) == [
        ("error", "regions[0].zones[0].racks[0].nodes[0]", message),
        ("error", "regions[0].zones[0].racks[0].nodes[1]", message),
    ]
