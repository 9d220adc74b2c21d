"""Golden files pin the configs of the lab's and midsize's layers: a change is visible in
review. Regenerate with STRATA_UPDATE_GOLDEN=1 pytest tests/unit/kube/test_golden.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from strata.kube import ConfigFile, k3s_config, kube_vip_manifest, kubeadm_config
from tests.unit.kube.examples import K3S_TOKEN, MATERIAL, layer, node, plan

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("STRATA_UPDATE_GOLDEN") == "1"
V1BETA3 = "1.30.6"  # the newest minor that reads kubeadm.k8s.io/v1beta3


def _golden(name: str, file: ConfigFile) -> None:
    path = GOLDEN / name
    text = f"# {file.path} (mode {oct(file.mode)})\n{file.contents}"
    if UPDATE:
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; if intended: STRATA_UPDATE_GOLDEN=1"


KUBEADM = [
    # (golden, example, layer, version, node)
    ("lab-init-v1beta4.yaml", "lab", "mgmt", None, "lab-cp-0"),
    ("lab-join-worker-v1beta4.yaml", "lab", "mgmt", None, "lab-worker-0"),
    ("lab-init-v1beta3.yaml", "lab", "mgmt", V1BETA3, "lab-cp-0"),
    ("lab-join-worker-v1beta3.yaml", "lab", "mgmt", V1BETA3, "lab-worker-0"),
    ("midsize-prod-init-v1beta4.yaml", "midsize", "prod", None, "euw-a-r01-prod-cp"),
    ("midsize-prod-join-cp-v1beta4.yaml", "midsize", "prod", None, "euw-b-r01-prod-cp"),
    ("midsize-prod-join-worker-v1beta4.yaml", "midsize", "prod", None, "euw-a-r01-w01"),
    ("midsize-prod-join-cp-v1beta3.yaml", "midsize", "prod", V1BETA3, "euw-b-r01-prod-cp"),
    ("midsize-prod-join-worker-v1beta3.yaml", "midsize", "prod", V1BETA3, "euw-a-r01-w01"),
]


@pytest.mark.parametrize(("golden", "example", "name", "version", "member"), KUBEADM)
def test_kubeadm(golden: str, example: str, name: str, version: str | None, member: str) -> None:
    cluster = layer(example, name, version)
    config = kubeadm_config(
        cluster, node(example, member), MATERIAL, topology=plan(example).topology
    )
    _golden(golden, config)


K3S = [
    ("midsize-batch-k3s-first-server.yaml", "use-a-r01-batch-cp"),
    ("midsize-batch-k3s-server.yaml", "use-b-r01-batch-cp"),
    ("midsize-batch-k3s-agent.yaml", "use-a-r01-w01"),
]


@pytest.mark.parametrize(("golden", "member"), K3S)
def test_k3s(golden: str, member: str) -> None:
    config = k3s_config(
        layer("midsize", "batch"),
        node("midsize", member),
        K3S_TOKEN,
        topology=plan("midsize").topology,
    )
    _golden(golden, config)


VIP = [
    ("lab-kube-vip-init.yaml", "lab", "mgmt", "lab-cp-0"),
    ("midsize-mgmt-kube-vip-init.yaml", "midsize", "mgmt", "euw-a-r01-mgmt-cp"),
    ("midsize-mgmt-kube-vip-join.yaml", "midsize", "mgmt", "euw-a-r02-mgmt-cp"),
    ("midsize-batch-kube-vip-k3s.yaml", "midsize", "batch", "use-a-r01-batch-cp"),
]


@pytest.mark.parametrize(("golden", "example", "name", "member"), VIP)
def test_kube_vip(golden: str, example: str, name: str, member: str) -> None:
    _golden(golden, kube_vip_manifest(layer(example, name), node(example, member)))
