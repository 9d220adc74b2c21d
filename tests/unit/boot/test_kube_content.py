"""A node of a layer whose cluster material the store keeps is served the Ignition that
installs its Kubernetes, built on that material: the init node gets the kubeadm init
config and the layer's CAs, the others a join config that pins the CA by its hash and
carries the token; a layer with no material gets its OS only."""

from __future__ import annotations

import base64
import datetime
import json
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from strata.boot.content import BootContent
from strata.boot.kube_artifacts import import_kube_artifacts
from strata.boot.kube_content import KubeSource
from strata.boot.tokens import TokenSigner
from strata.kube.material_store import cluster_material
from strata.plan import build_plan
from strata.provisioning import Attempt, Stage
from strata.store import SQLiteStore
from strata.topology import load
from tests.unit.boot.test_kube_artifacts import kubernetes_download

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)


def files_of(config: dict[str, Any]) -> dict[str, str]:
    """path -> contents of every inline file (data: URLs) of a config."""
    out = {}
    for f in config.get("storage", {}).get("files", []):
        source = f.get("contents", {}).get("source", "")
        if source.startswith("data:"):
            header, _, data = source.partition(",")
            raw = (
                base64.b64decode(data)
                if header.endswith(";base64")
                else urllib.parse.unquote(data).encode()
            )
            out[f["path"]] = raw.decode()
    return out


def served(tmp_path: Path, with_material: bool) -> tuple[dict[str, dict[str, str]], str]:
    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    mirror = tmp_path / "mirror"
    import_kube_artifacts(kubernetes_download(tmp_path), mirror, "kubernetes", "v1.31.2")
    store = SQLiteStore(tmp_path / "state.db")
    hash_ = ""
    if with_material:
        material = cluster_material(store, plan.clusters[0], NOW, all_joined=lambda: False)
        hash_ = material.pki.discovery_hash
    kube = KubeSource(plan, store, mirror, "http://boot:8080", clock=lambda: NOW)
    content = BootContent(plan, "http://boot:8080", TokenSigner(b"k" * 32), None, kube.fragment)
    attempt = Attempt(1, int(NOW.timestamp()) + 3600)
    configs = {
        n.name: files_of(json.loads(content.config(n, attempt, Stage.FINAL))) for n in plan.nodes
    }
    store.close()
    return configs, hash_


def test_each_node_gets_its_layers_kubernetes_on_the_kept_material(tmp_path: Path) -> None:
    configs, ca_hash = served(tmp_path, with_material=True)
    init, worker = configs["lab-cp-0"], configs["lab-worker-0"]
    init_docs = list(yaml.safe_load_all(init["/etc/strata/kubeadm.yaml"]))
    assert [d["kind"] for d in init_docs][:2] == ["InitConfiguration", "ClusterConfiguration"]
    assert "/etc/kubernetes/pki/ca.key" in init and "/etc/kubernetes/pki/ca.key" not in worker
    join = next(yaml.safe_load_all(worker["/etc/strata/kubeadm.yaml"]))
    assert join["kind"] == "JoinConfiguration"
    assert join["discovery"]["bootstrapToken"]["caCertHashes"] == [ca_hash]
    token = join["discovery"]["bootstrapToken"]["token"]
    assert token == init_docs[0]["bootstrapTokens"][0]["token"]
    assert any(p.endswith("kube-vip.yaml") for p in init)
    assert not any(p.endswith("kube-vip.yaml") for p in worker)


def test_each_kubeadm_node_gets_its_pod_network(tmp_path: Path) -> None:
    """The lab's layer: each node's CNI network list at the path the lab reads, its own
    /24 of podCIDR, and a route to each other node's /24 (strata.kube.podnet)."""
    configs, _ = served(tmp_path, with_material=True)
    subnets = {}
    for name, files in configs.items():
        conflist = json.loads(files["/etc/cni/net.d/10-strata.conflist"])
        subnets[name] = conflist["plugins"][0]["ipam"]["ranges"][0][0]["subnet"]
    assert subnets == {
        "lab-cp-0": "10.244.11.0/24",
        "lab-worker-0": "10.244.12.0/24",
        "lab-worker-1": "10.244.13.0/24",
    }
    routes = configs["lab-cp-0"][
        "/etc/systemd/network/10-strata-eth0.network.d/50-strata-pod-routes.conf"
    ]
    assert "Destination=10.244.12.0/24\nGateway=192.168.110.12" in routes


def test_a_layer_with_no_kept_material_gets_its_os_only(tmp_path: Path) -> None:
    configs, _ = served(tmp_path, with_material=False)
    assert all("/etc/strata/kubeadm.yaml" not in files for files in configs.values())
    assert all(
        not any(p.startswith("/etc/kubernetes") for p in files) for files in configs.values()
    )


def test_a_token_rotated_while_serving_reaches_the_next_node_rendered(tmp_path: Path) -> None:
    """The material is parsed once per stored row, not per node: a rotation (a new row)
    is still what the next render carries."""
    plan = build_plan(load(ROOT / "examples/lab/topology.yaml"))
    mirror = tmp_path / "mirror"
    import_kube_artifacts(kubernetes_download(tmp_path), mirror, "kubernetes", "v1.31.2")
    store = SQLiteStore(tmp_path / "state.db")
    first = cluster_material(store, plan.clusters[0], NOW, all_joined=lambda: False)
    kube = KubeSource(plan, store, mirror, "http://boot:8080", clock=lambda: NOW)
    nodes = {n.name: n for n in plan.nodes}

    def token_of(name: str) -> str:
        fragment = kube.fragment(nodes[name])
        assert fragment is not None
        docs = yaml.safe_load_all(files_of(fragment)["/etc/strata/kubeadm.yaml"])
        return str(next(docs)["discovery"]["bootstrapToken"]["token"])

    assert token_of("lab-worker-0") == first.token.value
    later = NOW + datetime.timedelta(hours=23)  # within the rotation margin
    rotated = cluster_material(store, plan.clusters[0], later, all_joined=lambda: False)
    assert rotated.token.value != first.token.value
    assert token_of("lab-worker-1") == rotated.token.value
    store.close()
