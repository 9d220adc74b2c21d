"""strata validate and Strata's pod network (strata.topology.podnet_rules): a kubeadm
layer whose podCIDR has no room for its nodes is refused at the podCIDR's line and
column; nodes it cannot route to are one warning; podNetwork: none turns it all off;
a k3s layer takes no podNetwork."""

from __future__ import annotations

import copy
from typing import Any

from strata.topology import check_text
from strata.topology.diagnostics import format_path
from tests.unit.topology.test_rule_findings import BASE, NODE2, dump, findings


def _layer(doc: dict[str, Any]) -> dict[str, Any]:
    layer: dict[str, Any] = doc["layers"][0]
    return layer


def _small(doc: dict[str, Any]) -> None:
    _layer(doc)["podCIDR"] = "10.244.0.0/24"  # one /24: room for one of the two nodes


def test_a_pod_cidr_too_small_for_the_layer_is_refused_at_its_line_and_column() -> None:
    doc = copy.deepcopy(BASE)
    _small(doc)
    text = dump(doc)
    checked = check_text(text, "t.yaml")
    errors = [d for d in checked.diagnostics if str(d.severity) == "error"]
    assert len(errors) == 1, errors
    (error,) = errors
    assert format_path(error.path) == "layers[0].podCIDR"
    assert "holds 1 node subnet of /24, but the layer has 2 nodes" in error.message
    assert "widen podCIDR to /23" in (error.hint or "")
    line = text.splitlines()[error.line - 1]
    assert line[error.column - 1 :].startswith("10.244.0.0/24"), (line, error.column)


def test_two_nodes_on_one_subnet_are_one_error() -> None:
    def clash(doc: dict[str, Any]) -> None:
        _layer(doc)["podCIDR"] = "10.244.0.0/22"  # 4 subnets: host 11 and host 15 clash
        node = copy.deepcopy(NODE2)
        node["nics"][0]["ip"] = "10.1.0.15"
        doc["regions"][0]["zones"][0]["racks"][0]["nodes"].append(node)

    found = [f for f in findings(clash) if f[0] == "error"]
    assert len(found) == 1
    assert found[0][1] == "layers[0].podCIDR"
    assert "n0 (10.1.0.11) and n2 (10.1.0.15) would both get 10.244.3.0/24" in found[0][2]


def test_pod_network_none_lifts_the_rules() -> None:
    def none(doc: dict[str, Any]) -> None:
        _small(doc)
        _layer(doc)["podNetwork"] = "none"

    assert findings(none) == []


def test_nodes_without_a_static_address_are_one_warning() -> None:
    def dhcp(doc: dict[str, Any]) -> None:
        for node in doc["regions"][0]["zones"][0]["racks"][0]["nodes"]:
            del node["nics"][0]["ip"]

    found = findings(dhcp)
    assert [(f[0], f[1]) for f in found] == [("warning", "layers[0].podCIDR")]
    assert "2 nodes (e.g. n0) of the layer have no static IPv4 address" in found[0][2]


def test_a_k3s_layer_takes_no_pod_network() -> None:
    def k3s(doc: dict[str, Any]) -> None:
        _layer(doc)["distribution"] = {"name": "k3s", "version": "1.31.2+k3s1"}
        _layer(doc)["podNetwork"] = "strata"
        _small(doc)  # k3s's flannel: Strata's rules are not its

    found = findings(k3s)
    assert [(f[0], f[1]) for f in found] == [("error", "layers[0].podNetwork")]
    assert "k3s runs its own flannel" in found[0][2]
