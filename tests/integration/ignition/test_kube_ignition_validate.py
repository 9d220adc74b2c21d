"""Ignition's own validator (Debian's ignition-validate, Ignition 2.14: specs up to 3.3.0)
accepts every node's full config with the Kubernetes fragment merged in: every OS x role
(init, joining control plane, worker) x distribution (kubeadm, k3s) x a version at each
kubeadm config API (1.30: v1beta3, 1.31: v1beta4). The fragment's keys all exist from
spec 3.0.0 on, so each config is written at 3.3.0 for the validator (the official 3.3
schema is checked too), and releases that read 3.3.0 or less are validated as served.
An unknown key is only a warning with exit 0 (shared/TESTING.md): output must be empty."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from strata.ignition import PROFILES, final_config
from strata.ignition.kube import kube_fragment
from tests.integration.ignition.test_ignition_validate import validate
from tests.unit.ignition.examples import as_os, callbacks, errors
from tests.unit.ignition.test_kube_ignition import CASES, case, kube_files, mirror_for
from tests.unit.ignition.test_release_specs import RELEASES
from tests.unit.kube.examples import layer, node, plan


@pytest.mark.parametrize("os_name", sorted(PROFILES))
def test_ignition_validate_accepts_every_kubernetes_config(os_name: str, tmp_path: Path) -> None:
    profile = dataclasses.replace(PROFILES[os_name], ignition_version="3.3.0")
    problems: list[str] = []
    cases = [c for c in CASES if c[0] == os_name]
    assert len(cases) == 12  # 3 roles x 2 distributions x 2 versions
    for _, distribution, name, role, version in cases:
        member, _, fragment, _ = case(os_name, distribution, name, role, version)
        config = final_config(member, profile, [fragment], callbacks(member, os_name))
        label = f"{distribution}-{version}-{role}"
        assert errors(config, "3.3.0") == [], label
        verdict = validate(config, tmp_path, label)
        if verdict:
            problems.append(f"{label}: {verdict}")
    assert problems == []


@pytest.mark.parametrize(
    ("os_name", "release", "spec"), [r for r in RELEASES if "3.1.0" <= r[2] <= "3.3.0"], ids=str
)
def test_a_release_is_served_a_kubernetes_config_its_ignition_reads(
    os_name: str, release: str, spec: str, tmp_path: Path
) -> None:
    """Flatcar 3510.2.1, FCOS before 2023-03, RHCOS 4.6-4.13, with the fragment in their
    spec (3.0.0 cannot check a SHA-256: refused, see the unit tests)."""
    problems = []
    for distribution, name, member_name in (
        ("kubeadm", "prod", "euw-a-r01-prod-cp"),
        ("k3s", "batch", "use-a-r01-w01"),
    ):
        cluster = layer("midsize", name)
        member = as_os(node("midsize", member_name), os_name, release)
        topology = plan("midsize").topology
        files = kube_files(cluster, member, topology)
        fragment = kube_fragment(member, cluster, topology, files, mirror_for(cluster))
        assert fragment["ignition"]["version"] == spec
        config = final_config(member, PROFILES[os_name], [fragment], callbacks(member, os_name))
        assert errors(config, spec) == []
        verdict = validate(config, tmp_path, f"{distribution}-{member_name}")
        if verdict:
            problems.append(f"{distribution} {member_name}: {verdict}")
    assert problems == []


def test_ignition_validate_catches_a_relative_download_path(tmp_path: Path) -> None:
    """The check above is not vacuous: a planted mistake in the fragment is reported."""
    member, _, fragment, _ = case("flatcar", "kubeadm", "prod", "init", "1.31.2")
    fragment["storage"]["files"][0]["path"] = "opt/extensions/kubernetes.raw"
    profile = dataclasses.replace(PROFILES["flatcar"], ignition_version="3.3.0")
    config = final_config(member, profile, [fragment], callbacks(member, "flatcar"))
    assert validate(config, tmp_path, "relative").startswith("exit 1")
