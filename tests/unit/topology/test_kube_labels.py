"""A node label the kubelet refuses in --node-labels fails `strata validate` at the label as
written (topology-wide defaults, a rack's defaults, a node), not the node's join at boot.

The kubelet's rule (cmd/kubelet/app/options/options.go ValidateKubeletFlags with
IsKubeletLabel, staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go): a key under
kubernetes.io or k8s.io (or a subdomain) must be one of the kubelet's labels or sit under
kubelet.kubernetes.io / node.kubernetes.io (or a subdomain).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from strata.plan import build_plan
from strata.topology import check_text, load
from strata.topology.diagnostics import format_path
from strata.topology.kubelet_labels import KUBELET_LABELS, kubelet_refuses
from tests.unit.topology.test_rule_findings import BASE, N0, RACK, at, dump

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "key",
    [
        "node-role.kubernetes.io/gpu",
        "node-role.kubernetes.io/control-plane",
        "kubernetes.io/team",
        "example.kubernetes.io/x",
        "k8s.io/x",
        "sub.k8s.io/x",
        "node-restriction.kubernetes.io/pci",
        "topology.kubernetes.io/rack",  # not one of the kubelet's topology labels
        "failure-domain.kubernetes.io/zone",  # the GA spelling never made it to the list
    ],
)
def test_keys_the_kubelet_refuses(key: str) -> None:
    assert kubelet_refuses(key)


@pytest.mark.parametrize(
    "key",
    [
        *sorted(KUBELET_LABELS),
        "topology.kubernetes.io/region",  # Strata's own
        "topology.kubernetes.io/zone",
        "strata.dev/rack",
        "node.kubernetes.io/gpu",
        "feature.node.kubernetes.io/cpu-avx",  # a subdomain of node.kubernetes.io
        "kubelet.kubernetes.io/x",
        "a.kubelet.kubernetes.io/x",
        "example.com/role",
        "node-role.example.com/gpu",
        "kubernetes.io.example.com/x",  # not a subdomain of kubernetes.io
        "notkubernetes.io/x",
        "gpu",  # no prefix
    ],
)
def test_keys_the_kubelet_takes(key: str) -> None:
    assert not kubelet_refuses(key)


def _located(doc: dict[str, Any]) -> tuple[str, list[tuple[str, str, str, str]]]:
    text = dump(doc)
    checked = check_text(text, "t.yaml")
    return text, [
        (d.where, format_path(d.path), d.message, d.hint or "") for d in checked.diagnostics
    ]


def _where(text: str, key: str) -> str:
    """file:line:column of ``key:`` as written."""
    for number, row in enumerate(text.splitlines(), 1):
        column = row.find(f"{key}:")
        if column >= 0:
            return f"t.yaml:{number}:{column + 1}"
    raise AssertionError(f"{key} not in the document")


def test_each_refused_label_is_one_error_where_it_is_written() -> None:
    doc = copy.deepcopy(BASE)
    doc["defaults"]["labels"] = {"kubernetes.io/team": "infra", "example.com/team": "infra"}
    at(doc, RACK)["defaults"]["labels"] = {"node-role.kubernetes.io/storage": ""}
    at(doc, N0)["labels"] = {"sub.k8s.io/x": "y", "node.kubernetes.io/gpu": "a100"}
    text, found = _located(doc)
    rack, node = format_path((*RACK, "defaults")), format_path(N0)
    assert [(where, path) for where, path, _, _ in found] == [
        (_where(text, "kubernetes.io/team"), "defaults.labels.kubernetes.io/team"),
        (
            _where(text, "node-role.kubernetes.io/storage"),
            f"{rack}.labels.node-role.kubernetes.io/storage",
        ),
        (_where(text, "sub.k8s.io/x"), f"{node}.labels.sub.k8s.io/x"),
    ]
    for _, _, message, _ in found:
        assert "the kubelet refuses" in message and "fail to join" in message
    role = found[1]
    assert "kubectl label node NODE node-role.kubernetes.io/storage=" in role[3]
    assert "example.com/role" in role[3]
    assert "node.kubernetes.io/" in found[0][3]


def test_the_refusal_comes_once_for_every_node_below() -> None:
    """Two nodes inherit the rack's label: one finding, at the rack's defaults."""
    doc = copy.deepcopy(BASE)
    at(doc, RACK)["defaults"]["labels"] = {"node-role.kubernetes.io/worker": "true"}
    _, found = _located(doc)
    assert len(found) == 1


def test_labels_the_kubelet_may_set_are_clean() -> None:
    doc = copy.deepcopy(BASE)
    doc["defaults"]["labels"] = {
        "topology.kubernetes.io/region": "r",
        "node.kubernetes.io/instance-type": "r650",
        "kubernetes.io/os": "linux",
        "example.com/role": "gpu",
    }
    assert _located(doc)[1] == []


@pytest.mark.parametrize("example", ["lab", "midsize", "hyperscale"])
def test_every_label_strata_hands_the_kubelet_passes(example: str) -> None:
    """The plan's labels: the topology's and Strata's own region, zone and rack."""
    plan = build_plan(load(ROOT / "examples" / example / "topology.yaml"))
    keys = {key for node in plan.nodes for key in node.labels}
    assert {"topology.kubernetes.io/region", "topology.kubernetes.io/zone"} <= keys
    assert [key for key in sorted(keys) if kubelet_refuses(key)] == []
