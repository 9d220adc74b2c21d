"""The lab's Kubernetes stand-in (``strata.lab.kube_daemon``) on its own, without QEMU:
the lab example's nodes' Kubernetes fragments exactly as Strata's boot service renders
them (``KubeSource``, from the layer's material in a store), handed over as a machine
hands its config over, in a network namespace of the test's own.

The join protocol end to end against real programs: the init node's config brings up
etcd, kube-apiserver and kube-controller-manager at the VIP and kubeadm init's objects;
each worker's kubelet does token discovery, pins the CA, TLS-bootstraps (a CSR the
real controller manager approves and signs) and its Node goes Ready with the labels
and providerID of its config. A worker whose config pins another CA refuses the
cluster: no kubelet starts for it, and its reason is reported. Needs root (CI runs as
root); fails without it, rather than skip.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.boot.kube_content import KubeSource
from strata.kube.material_store import cluster_material, layer_admin_kubeconfig
from strata.kube.pki import generate_pki
from strata.lab.ignition_files import read_files
from strata.lab.image import stand_in_kube_artifacts
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.kube_api import assets_dir, etcd_binary

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
WORKERS = ("lab-worker-0", "lab-worker-1")
TIMEOUT = 300.0  # s: about 30 s alone on 2 cores


def inside(namespace: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def namespace() -> Iterator[str]:
    """A namespace with the lab's provisioning bridge and its gateway address."""
    assert os.geteuid() == 0, "the stand-in needs a network namespace: run as root (CI does)"
    name = f"strata-t{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for command in (
            ("link", "set", "lo", "up"),
            ("link", "add", "prov0", "type", "bridge"),
            ("addr", "add", "192.168.110.1/24", "dev", "prov0"),
            ("link", "set", "prov0", "up"),
        ):
            subprocess.run(["ip", "-n", name, *command], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def daemon(namespace: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The stand-in daemon as `strata lab up` starts it."""
    env = {**os.environ, "KUBEBUILDER_ASSETS": str(assets_dir())}
    etcd_binary()
    (tmp_path / "lab").mkdir()
    process = subprocess.Popen(
        [
            *("nsenter", f"--net=/run/netns/{namespace}"),
            *("unshare", "--mount", "--propagation", "private"),
            *(sys.executable, "-m", "strata.lab.kube_daemon", "--listen=192.168.110.1:9180"),
            *("--bridge=prov0", f"--workdir={tmp_path / 'lab'}"),
            f"--run-dir=/run/strata-lab/{namespace}",
        ],
        env=env,
        stdout=(tmp_path / "kube-daemon.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "lab" / "kube-ready").exists():
            assert process.poll() is None and time.monotonic() < deadline, _log(tmp_path)
            time.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)
        subprocess.run(["rm", "-rf", f"/run/strata-lab/{namespace}"], check=False)


def _log(tmp_path: Path) -> str:
    return (tmp_path / "kube-daemon.log").read_text(errors="replace")[-4000:]


def configs(tmp_path: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """Each node's config as the boot service renders its Kubernetes part (with the
    hostname its full config carries), and an admin kubeconfig for the layer."""
    plan = build_plan(load(LAB))
    now = datetime.datetime.now(datetime.UTC)
    store = SQLiteStore(tmp_path / "strata.db")
    material = cluster_material(store, plan.clusters[0], now, all_joined=lambda: False)
    stand_in_kube_artifacts(tmp_path / "artifacts", plan)
    source = KubeSource(plan, store, tmp_path / "artifacts", "http://192.168.110.1:8080")
    rendered = {}
    for node in plan.nodes:
        fragment = dict(source.fragment(node) or {})
        hostname = {"path": "/etc/hostname", "contents": {"source": f"data:,{node.name}%0A"}}
        fragment["storage"]["files"].append(hostname)
        rendered[node.name] = fragment
    return rendered, layer_admin_kubeconfig(material, "https://192.168.110.10:6443", now)


def pinned_elsewhere(config: dict[str, Any]) -> dict[str, Any]:
    """The config with its kubeadm join pinning another CA's hash."""
    other = generate_pki(datetime.datetime.now(datetime.UTC)).discovery_hash
    files = read_files(json.dumps(config).encode())
    text = files.text("/etc/strata/kubeadm.yaml") or ""
    pinned = next(line.split("- ")[1] for line in text.splitlines() if "sha256:" in line)
    changed = text.replace(pinned, other)
    tampered: dict[str, Any] = json.loads(json.dumps(config))
    for entry in tampered["storage"]["files"]:
        if entry["path"] == "/etc/strata/kubeadm.yaml":
            entry["contents"] = {"source": "data:," + urllib.parse.quote(changed)}
    return tampered


def hand_over(namespace: str, tmp_path: Path, name: str, config: dict[str, Any]) -> None:
    body = tmp_path / f"{name}.ign"
    body.write_text(json.dumps(config))
    url = "http://192.168.110.1:9180/v1/ignition"
    done = inside(namespace, "curl", "-sf", "--data-binary", f"@{body}", url)
    assert done.returncode == 0, done.stderr + _log(tmp_path)


def machines(namespace: str) -> dict[str, Any]:
    done = inside(namespace, "curl", "-sf", "http://192.168.110.1:9180/v1/machines")
    found: dict[str, Any] = json.loads(done.stdout) if done.returncode == 0 else {}
    return found


def ready_nodes(namespace: str, kubeconfig: Path) -> dict[str, dict[str, Any]]:
    done = inside(
        namespace, "kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"
    )
    if done.returncode != 0:
        return {}
    return {
        n["metadata"]["name"]: n
        for n in json.loads(done.stdout)["items"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
    }


def test_machines_join_from_their_ignition_and_a_wrong_pin_is_refused(
    namespace: str, daemon: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    rendered, admin = configs(tmp_path)
    kubeconfig = tmp_path / "admin.kubeconfig"
    kubeconfig.write_text(admin)
    hand_over(namespace, tmp_path, "lab-cp-0", rendered["lab-cp-0"])
    hand_over(namespace, tmp_path, "lab-worker-0", rendered["lab-worker-0"])
    hand_over(namespace, tmp_path, "lab-worker-1", pinned_elsewhere(rendered["lab-worker-1"]))
    deadline = time.monotonic() + TIMEOUT
    while set(ready_nodes(namespace, kubeconfig)) != {"lab-cp-0", "lab-worker-0"}:
        assert time.monotonic() < deadline, _log(tmp_path)
        time.sleep(2)
    refused = machines(namespace)["lab-worker-1"]
    assert "is not the pinned CA" in (refused["error"] or ""), refused
    assert "kubelet" not in refused["processes"]  # it never started
    # the same machine, reinstalled with its true config, joins
    hand_over(namespace, tmp_path, "lab-worker-1", rendered["lab-worker-1"])
    while "lab-worker-1" not in (nodes := ready_nodes(namespace, kubeconfig)):
        assert time.monotonic() < deadline, _log(tmp_path)
        time.sleep(2)
    for name, node in nodes.items():
        assert node["spec"]["providerID"] == f"strata://lab/{name}"
        assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "home-desk"
    assert "node-role.kubernetes.io/control-plane" in nodes["lab-cp-0"]["metadata"]["labels"]
    # each machine its own boot, as real machines: not the host's boot ID
    boots = {n["status"]["nodeInfo"]["bootID"] for n in nodes.values()}
    assert (
        len(boots) == 3 and Path("/proc/sys/kernel/random/boot_id").read_text().strip() not in boots
    )
    csrs = inside(namespace, "kubectl", "--kubeconfig", str(kubeconfig), "get", "csr", "-o", "json")
    requestors = {c["spec"]["username"] for c in json.loads(csrs.stdout)["items"]}
    assert any(r.startswith("system:bootstrap:") for r in requestors)  # TLS bootstrap
    secrets_logged = [w for w in ("BEGIN RSA PRIVATE KEY", "token-secret") if w in _log(tmp_path)]
    assert not secrets_logged
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(120)
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert left == "", "the stand-in's programs outlived it"
