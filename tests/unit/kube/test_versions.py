"""Which versions each distribution accepts, how they are spelled, which kubeadm config API
each reads, and that a refusal names the version, the range and why."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata.kube.versions import (
    DISTRIBUTIONS,
    K3sRelease,
    KubeVersion,
    VersionError,
    k3s_release,
    kubeadm_api,
    kubernetes_version,
    supported_version,
)
from strata.topology.spec import Distribution


def test_the_distributions_are_the_topology_schemas() -> None:
    assert get_args(Distribution.model_fields["name"].annotation) == DISTRIBUTIONS


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("1.31.2", KubeVersion(1, 31, 2)), ("v1.22.0", KubeVersion(1, 22, 0))],
)
def test_kubernetes_versions_parse(text: str, parsed: KubeVersion) -> None:
    assert kubernetes_version(text) == parsed
    assert parsed.tag == f"v{parsed}"


@pytest.mark.parametrize("text", ["1.31", "1.31.2.1", "1.031.2", "", "latest", "1.31.x"])
def test_not_a_kubernetes_version(text: str) -> None:
    with pytest.raises(VersionError, match="is not a Kubernetes version"):
        kubernetes_version(text)


def test_a_k3s_release_on_a_kubeadm_layer_says_so() -> None:
    with pytest.raises(VersionError) as caught:
        supported_version("kubeadm", "1.31.2+k3s1")
    assert "k3s" in str(caught.value.hint)


@pytest.mark.parametrize("text", ["1.31.2+k3s1", "v1.31.2+k3s1"])
def test_k3s_releases_parse_with_or_without_v(text: str) -> None:
    release = k3s_release(text)
    assert release == K3sRelease(KubeVersion(1, 31, 2), 1)
    assert release.tag == "v1.31.2+k3s1"


@pytest.mark.parametrize(
    "text", ["1.31.2", "1.31.2+k3s", "1.31.2+k3s0", "1.31.2-k3s1", "1.31+k3s1"]
)
def test_a_k3s_layer_names_the_k3s_build(text: str) -> None:
    with pytest.raises(VersionError, match="is not a k3s release"):
        k3s_release(text)


@pytest.mark.parametrize(
    ("version", "api"),
    [
        ("1.22.0", "kubeadm.k8s.io/v1beta3"),
        ("1.29.0", "kubeadm.k8s.io/v1beta3"),
        ("1.30.14", "kubeadm.k8s.io/v1beta3"),
        ("1.31.0", "kubeadm.k8s.io/v1beta4"),
        ("1.31.2", "kubeadm.k8s.io/v1beta4"),
        ("1.34.1", "kubeadm.k8s.io/v1beta4"),
    ],
)
def test_the_kubeadm_api_each_version_reads(version: str, api: str) -> None:
    assert kubeadm_api(kubernetes_version(version)) == api


@given(minor=st.integers(0, 60), patch=st.integers(0, 40))
def test_every_minor_is_either_refused_or_has_an_api(minor: int, patch: int) -> None:
    version = KubeVersion(1, minor, patch)
    if minor < 22:
        with pytest.raises(VersionError):
            kubeadm_api(version)
    else:
        expected = "v1beta4" if minor >= 31 else "v1beta3"
        assert kubeadm_api(version) == f"kubeadm.k8s.io/{expected}"


@pytest.mark.parametrize(
    ("distribution", "text"),
    [("kubeadm", "1.20.2"), ("kubeadm", "1.21.14"), ("k3s", "1.21.5+k3s1"), ("kubeadm", "2.0.0")],
)
def test_refusals_name_the_version_the_range_and_why(distribution: str, text: str) -> None:
    with pytest.raises(VersionError) as caught:
        supported_version(distribution, text)
    message = caught.value.message
    assert text.split("+")[0] in message
    assert ">= 1.22" in message
    assert caught.value.hint
    assert caught.value.kind == "unsupported-version" and caught.value.exit_code == 2


def test_the_kubeadm_floor_says_why() -> None:
    with pytest.raises(VersionError, match="v1beta2"):
        supported_version("kubeadm", "1.20.2")


def test_an_unknown_distribution() -> None:
    with pytest.raises(VersionError, match="unknown distribution 'rke2'"):
        supported_version("rke2", "1.31.2")
