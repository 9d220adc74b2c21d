"""What `strata validate` accepts, the API server stores as written: for each kind of
value the Topology CRD refuses or prunes (a snake_case key, a quoted number or bool, a
CIDR with a netmask or none, a DNS server with a zone, an invalid metadata label), the
real API server (v1.20.2) refuses the object or stores something else, and validate
refuses the document with a located error at that field."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from strata.operator.objects import topology_object
from strata.topology import check_text
from strata.topology.diagnostics import format_path
from tests.support.kube_api import ControlPlane

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
TOPOLOGIES = "/apis/strata.dev/v1alpha1/namespaces/default/topologies"
RACK: tuple[str | int, ...] = ("regions", 0, "zones", 0, "racks", 0)
NODE = (*RACK, "nodes", 0)


def _rename(where: tuple[str | int, ...], old: str, new: str) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        parent = _at(doc, where)
        parent[new] = parent.pop(old)

    return edit


def _put(where: tuple[str | int, ...], value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        _at(doc, where[:-1])[where[-1]] = value

    return edit


CASES = {
    # a key the model knew by its Python name: the API server prunes it
    "snake-install-disk": (_rename(("defaults",), "installDisk", "install_disk"), "defaults.install_disk"),
    "snake-ssh-keys": (_rename(("defaults",), "sshKeys", "ssh_keys"), "defaults.ssh_keys"),
    "snake-dhcp-range": (_rename(("networks", 1), "dhcpRange", "dhcp_range"), "networks[1].dhcp_range"),
    "snake-power-budget": (_rename(RACK, "powerBudget", "power_budget"), format_path((*RACK, "power_budget"))),
    # a string where the CRD wants a number or a bool: refused
    "quoted-vlan": (_put(("networks", 0, "vlan"), "100"), "networks[0].vlan"),
    "quoted-mtu": (_put(("networks", 1, "mtu"), "9000"), "networks[1].mtu"),
    "quoted-port": (_put(("layers", 0, "endpoint", "port"), "6443"), "layers[0].endpoint.port"),
    "quoted-stagger": (_put((*RACK, "powerBudget", "staggerSeconds"), "2"), format_path((*RACK, "powerBudget", "staggerSeconds"))),
    "quoted-insecure": (_put(("defaults", "bmc", "insecure"), "yes"), "defaults.bmc.insecure"),
    "number-pivot": (_put(("layers", 0, "pivot"), 1), "layers[0].pivot"),
    "quoted-size": (_put((*NODE, "disks", 0, "sizeGigabytes"), "20"), format_path((*NODE, "disks", 0, "sizeGigabytes"))),
    # a CIDR Go's net.ParseCIDR refuses, an IP with a zone net.ParseIP refuses
    "netmask-cidr": (_put(("networks", 0, "cidr"), "192.168.100.0/255.255.255.0"), "networks[0].cidr"),
    "bare-cidr": (_put(("networks", 0, "cidr"), "192.168.100.0"), "networks[0].cidr"),
    "netmask-pod-cidr": (_put(("layers", 0, "podCIDR"), "10.244.0.0/255.255.0.0"), "layers[0].podCIDR"),
    "dns-zone": (_put(("networks", 1, "dns"), ["fe80::1%eth0"]), "networks[1].dns[0]"),
    # metadata.labels: Kubernetes label syntax
    "label-value-space": (_put(("metadata", "labels"), {"team": "data center ops"}), "metadata.labels.team"),
    "label-key-long": (_put(("metadata", "labels"), {"x" * 70: "a"}), "metadata.labels." + "x" * 70),
}  # fmt: skip


def _at(doc: Any, where: tuple[str | int, ...]) -> Any:
    for part in where:
        doc = doc[part]
    return doc


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_the_api_server_refuses_or_prunes_validate_refuses_there(
    plane: ControlPlane, case: str
) -> None:
    edit, path = CASES[case]
    document = YAML(typ="safe", pure=True).load(LAB.read_text())
    edit(document)
    obj = topology_object(document, "default")
    obj["metadata"]["name"] = f"{case}-{uuid.uuid4().hex[:6]}"
    with plane.client() as api:
        answer = api.post(TOPOLOGIES, json=copy.deepcopy(obj))
        if answer.status_code == 201:
            stored = api.get(f"{TOPOLOGIES}/{obj['metadata']['name']}").json()
            assert (stored["spec"], stored["metadata"].get("labels")) != (
                obj["spec"],
                obj["metadata"].get("labels"),
            ), "the API server stored it as written: not a case for this test"
        else:
            assert answer.status_code == 422, answer.text
    checked = check_text(yaml.safe_dump(document, sort_keys=False), "topology.yaml")
    assert checked.topology is None
    assert path in {format_path(d.path) for d in checked.errors}, [
        d.render() for d in checked.errors
    ]
