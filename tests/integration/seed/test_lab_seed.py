"""The seed in the lab, end to end (issue 18): the lab topology plus the seed's own
machine (``lab-seed``, NICs on the BMC and provisioning networks), a seed image of it
built with the lab's stand-in OS as its artifact mirror, and `strata lab up --seed` —
the fourth lab machine boots the image as a CD, and the seed on it, with nothing from
this host but the lab's networks, BMCs and Kubernetes stand-in, provisions the three lab
servers through their Redfish BMCs (DHCP and boot service on its own address) to
``joined``, then pivots into layer mgmt. Read from the seed's HTTP status and from the
cluster (its Nodes).

No Node of the lab's cluster runs pods (no image, no scheduler), so the controller after
the move runs on the seed's machine, which is kept, not handed over (docs/seed.md). As
docs/seed.md says to, the person then runs the cluster's controller elsewhere — here a
second replica on the lab's host, with the cluster's admin credentials from its first
control plane (kubeadm's admin.conf) — and writes the consent: the replica holding the
seed's rack power-cycles the seed's machine into its network boot (when that is the seed
itself, it ends with it and the other takes its shards once its Leases run out), the
machine is installed from the lab host's DHCP and boot service and joins: four Nodes
Ready. About 6 minutes on 2 cores, most of it the seed's boot under TCG."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from strata.kube.kubeconfig import admin_kubeconfig
from strata.seed.rootfs import LiveRoot
from strata.store.state_file import write_private
from tests.integration.seed.conftest import run_strata
from tests.support.kube_api import assets_dir
from tests.unit.seed.conftest import seed_topology

NODES = ("lab-cp-0", "lab-worker-0", "lab-worker-1")
HANG_GUARD = 1500.0  # s from power-on to the seed's apply ending
STATUS = "http://192.168.110.14:8090/status.json"  # lab-seed's provisioning address


def _inside(namespace: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *command], capture_output=True, text=True, timeout=60
    )


def _status(namespace: str) -> dict[str, object] | None:
    got = _inside(namespace, "curl", "-sf", "-m", "10", STATUS)
    return json.loads(got.stdout) if got.returncode == 0 else None


def _ended(namespace: str, console: Path, started: float) -> dict[str, object]:
    """The seed's status once its apply has exited; fails with the console's tail when
    the hang guard passes."""
    while time.monotonic() - started < HANG_GUARD:
        status = _status(namespace)
        seed = status.get("seed") if status else None
        if isinstance(seed, dict) and str(seed.get("phase", "")).startswith("apply exited"):
            assert status is not None
            return status
        time.sleep(5)
    tail = console.read_text(errors="replace")[-4000:] if console.exists() else ""
    raise AssertionError(f"the seed's apply did not end in {HANG_GUARD:.0f} s:\n{tail}")


def _nodes_ready(namespace: str, kubelet_conf: Path) -> dict[str, str]:
    """Ready Nodes of the cluster and their providerIDs (a kubelet may list Nodes)."""
    got = _inside(namespace, "kubectl", "--kubeconfig", str(kubelet_conf), "get", "nodes",
                  "-o", "json")  # fmt: skip
    assert got.returncode == 0, got.stderr
    return {
        n["metadata"]["name"]: n["spec"].get("providerID")
        for n in json.loads(got.stdout)["items"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
    }


def test_the_seed_provisions_the_lab_pivots_and_its_machine_joins_too(
    seed_root: LiveRoot, tmp_path: Path
) -> None:
    assert os.geteuid() == 0, "the lab builds a network namespace: run this test as root (CI does)"
    name = f"sd{secrets.token_hex(2)}"
    site = tmp_path / "site"
    site.mkdir()
    file = seed_topology(site)
    file.write_text(file.read_text().replace("name: lab\n", f"name: {name}\n", 1))
    env = {**os.environ, "STRATA_LAB_BMC_PASSWORD": secrets.token_hex(8), "COLUMNS": "120"}
    env["KUBEBUILDER_ASSETS"] = str(assets_dir())  # the lab's Kubernetes (skips if absent)
    staged = run_strata("lab", "artifacts", "-f", str(file), env=env, timeout=600)
    assert staged.returncode == 0, staged.stderr
    image = tmp_path / "seed.iso"
    built = run_strata("seed", "build", str(file), "-o", str(image), "--node", "lab-seed",
                       "--plaintext-secrets", env=env, timeout=1800)  # fmt: skip
    assert built.returncode == 0, built.stderr
    namespace, work = f"strata-{name}", site / ".strata" / "lab"
    up = run_strata("lab", "up", "-f", str(file), "--seed", str(image), env=env, timeout=300)
    started = time.monotonic()
    try:
        assert up.returncode == 0, up.stderr
        assert "lab-seed boots the seed" in up.stdout + up.stderr
        status = _ended(namespace, work / "lab-seed.console.log", started)
        print(f"the seed's apply ended {time.monotonic() - started:.0f} s after power-on")
        console = (work / "lab-seed.console.log").read_text(errors="replace")
        assert "apply exited 0" in str(status["seed"]), console[-4000:]
        nodes = status["status"]["nodes"]  # type: ignore[index]
        assert {n: nodes[n]["state"] for n in NODES} == dict.fromkeys(NODES, "joined")
        assert nodes["lab-seed"]["state"] == "declared"  # its own: held
        place = "cluster https://192.168.110.10:6443 namespace strata"
        assert f"the management plane of {name} now lives in {place}" in console
        assert (
            "lab-seed (this machine) is not handed over: the cluster's controller runs" in console
        )
        assert env["STRATA_LAB_BMC_PASSWORD"] not in console
        for node in NODES:  # each installed from the seed's DHCP and boot service
            text = (work / f"{node}.console.log").read_text(errors="replace")
            assert "obtained from 192.168.110.14" in text and "reported installed" in text
        ready = _nodes_ready(namespace, work / "kube" / "lab-cp-0" / "kubelet.conf")
        assert ready == {node: f"strata://{name}/{node}" for node in NODES}
        admin = _admin_conf(work, tmp_path / "admin.conf")
        _seed_machine_joins(namespace, admin, name, site, tmp_path, started)
        ready = _nodes_ready(namespace, admin)
        assert ready == {node: f"strata://{name}/{node}" for node in (*NODES, "lab-seed")}
        seed_console = (work / "lab-seed.console.log").read_text(errors="replace")
        assert "obtained from 192.168.110.1," in seed_console  # the host replica's DHCP
        assert "reported installed" in seed_console
    finally:
        down = run_strata("lab", "down", "-f", str(file), env=env, timeout=300)
    assert down.returncode == 0, down.stderr


def _admin_conf(work: Path, path: Path) -> Path:
    """The cluster's admin kubeconfig, from its first control plane's credentials (what
    kubeadm writes there as admin.conf), 0600."""
    pki = work / "kube" / "lab-cp-0" / "control-plane" / "pki"
    text = admin_kubeconfig(
        "https://192.168.110.10:6443",
        (pki / "ca.crt").read_text(),
        (pki / "strata-admin.crt").read_text(),
        (pki / "strata-admin.key").read_text(),
    )
    write_private(path, text)
    return path


def _seed_machine_joins(
    namespace: str, admin: Path, name: str, site: Path, tmp_path: Path, started: float
) -> None:
    """A replica of the cluster's controller on the lab's host, then the consent: the
    seed's machine reinstalled, until its Server is joined."""
    command = [
        "ip", "netns", "exec", namespace, sys.executable, "-m", "strata.cli.app", "controller",
        "--kubeconfig", str(admin), "--namespace", "strata", "--identity", "lab-host",
        "--listen", "192.168.110.1:8080", "--dhcp-interface", "prov0",
        "--artifacts", str(site / "artifacts"), "--dhcp-dir", str(tmp_path / "dhcp"),
        "--health-addr", "127.0.0.1:18081",  # in the lab's namespace: its own loopback
    ]  # fmt: skip
    log = tmp_path / "host-controller.log"
    with log.open("ab") as out:
        replica = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
    try:
        kubectl = ("kubectl", "--kubeconfig", str(admin), "-n", "strata")
        consent = '{"spec":{"consent":{"allowReprovision":["lab-seed"]}}}'
        patched = _inside(namespace, *kubectl, "patch", "topology", name, "--type", "merge",
                          "-p", consent)  # fmt: skip
        assert patched.returncode == 0, patched.stderr
        consented = time.monotonic()
        while time.monotonic() - started < HANG_GUARD:
            assert replica.poll() is None, log.read_text()[-4000:]
            got = _inside(namespace, *kubectl, "get", "server", f"{name}.lab-seed", "-o", "json")
            state = json.loads(got.stdout)["status"].get("state") if got.returncode == 0 else None
            assert state != "failed", got.stdout[-3000:]
            if state == "joined":
                print(f"lab-seed joined {time.monotonic() - consented:.0f} s after the consent")
                return
            time.sleep(5)
        raise AssertionError(f"lab-seed not joined in time:\n{log.read_text()[-4000:]}")
    finally:
        os.killpg(replica.pid, signal.SIGTERM)
        replica.wait(60)
