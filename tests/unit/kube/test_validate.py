"""Versions outside the supported range fail `strata validate` at file:line:column
(strata.topology.kube_rules)."""

from __future__ import annotations

import copy

import pytest

from strata.topology import check_text
from tests.unit.topology.test_rule_findings import BASE, dump


def _diagnostics(distribution: str, version: str) -> list[tuple[str, str, str]]:
    doc = copy.deepcopy(BASE)
    doc["layers"][0]["distribution"] = {"name": distribution, "version": version}
    text = dump(doc)
    checked = check_text(text, "t.yaml")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f"version: {version}" in row)
    return [(d.where, d.message, f"t.yaml:{line}:") for d in checked.diagnostics]


def test_kubeadm_1_20_is_refused_at_its_line_and_column() -> None:
    found = _diagnostics("kubeadm", "1.20.2")
    assert len(found) == 1
    where, message, expected_at = found[0]
    assert where.startswith(expected_at)
    assert int(where.rsplit(":", 1)[1]) > 1  # the value's column, not the line's start
    assert "kubeadm 1.20.2 is not supported" in message
    assert ">= 1.22" in message and "v1beta2" in message


@pytest.mark.parametrize(
    ("distribution", "version"),
    [
        ("kubeadm", "1.22.0"),
        ("kubeadm", "1.31.2"),
        ("k3s", "1.31.2+k3s1"),
        ("k3s", "v1.22.17+k3s1"),
    ],
)
def test_supported_versions_are_accepted(distribution: str, version: str) -> None:
    assert _diagnostics(distribution, version) == []


def test_a_k3s_layer_without_the_build_is_refused() -> None:
    found = _diagnostics("k3s", "1.31.2")
    assert [message for _, message, _ in found] == [
        "'1.31.2' is not a k3s release (MAJOR.MINOR.PATCH+k3sN)"
    ]
