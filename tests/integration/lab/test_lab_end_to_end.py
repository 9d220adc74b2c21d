"""The lab end to end, as the README's first command runs it: `strata lab up` starts the
lab example's three servers as QEMU machines behind Redfish BMCs in a network
namespace; `strata apply` inside it powers them on, each by a road of its own:
lab-cp-0 through IPMI (its Redfish is off; bmc.fallback), iPXE firmware PXE-booting
from real dnsmasq and Strata's boot service on BIOS; lab-worker-0 the same through
Redfish after its BMC refused virtual media; lab-worker-1 on UEFI (OVMF) from the
image its BMC inserted as a virtual CD, whose GRUB asks the boot service. The stand-in
OS fetches its Ignition config, phones home and hands the config to the lab, which
runs a real control plane (for lab-cp-0) and a real kubelet per machine from it; all
three end `joined`, their Nodes Ready in the layer's API as `strata kubeconfig` and
kubectl show them, and the dashboard shows them so (the README's screenshot);
`strata lab down` leaves nothing behind. Needs root (CI runs as root): without it
the test fails and says so, rather than skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from strata.cli.web_face import web_face
from strata.plan import build_plan
from strata.store import SQLiteStore
from strata.topology import load
from tests.support.boot_server import free_port
from tests.support.browser import Browser
from tests.support.kube_api import assets_dir

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples" / "lab" / "topology.yaml"
NODES = ("lab-cp-0", "lab-worker-0", "lab-worker-1")


def strata(
    *args: str, env: dict[str, str], timeout: float, inside: str | None = None
) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "netns", "exec", inside] if inside else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "strata.cli.app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _nodes_ready_in_the_api(file: Path, env: dict[str, str], namespace: str, name: str) -> None:
    """`strata kubeconfig mgmt` and kubectl, inside the lab's namespace (where the VIP
    is): three Nodes, Ready, each with the providerID naming the topology and node."""
    printed = strata("kubeconfig", "mgmt", "-f", str(file), env=env, timeout=60)
    assert printed.returncode == 0, printed.stderr
    kubeconfig = file.parent / "mgmt.kubeconfig"
    kubeconfig.write_text(printed.stdout)
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"]
    got = subprocess.run(
        ["ip", "netns", "exec", namespace, *kubectl],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert got.returncode == 0, got.stderr
    items = json.loads(got.stdout)["items"]
    ready = {
        n["metadata"]["name"]: n["spec"].get("providerID")
        for n in items
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
    }
    assert ready == {node: f"strata://{name}/{node}" for node in NODES}


def _plane_moved_into_mgmt(
    file: Path, env: dict[str, str], namespace: str, name: str, said: str
) -> None:
    """Apply ended with the pivot (the layer is marked ``pivot: true``): the state file's
    lease says the plane moved to the mgmt cluster (the stand-in control plane at the
    VIP), the Servers are there in namespace strata, joined, as the state file has
    them; `strata status` names the place; a controller runs on the host against it."""
    place = "cluster https://192.168.110.10:6443 namespace strata"
    assert "pivot: after layer mgmt is joined, the management plane moves" in said, said
    assert f"now lives in {place}" in said, said[-3000:]
    store = SQLiteStore(file.parent / ".strata" / "strata.db", read_only=True)
    try:
        writer = store.writer()
        states = {s.name: s.state for s in store.summaries()}
    finally:
        store.close()
    assert writer is not None and writer[0].startswith(f"the controller in {place} (moved there")
    assert states == dict.fromkeys(NODES, "joined")
    kubeconfig = file.parent / ".strata" / "mgmt.kubeconfig"  # the pivot's, 0600
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig), "-n", "strata", "get", "servers"]
    got = subprocess.run(
        ["ip", "netns", "exec", namespace, *kubectl, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert got.returncode == 0, got.stderr
    there = {s["metadata"]["name"]: s["status"]["state"] for s in json.loads(got.stdout)["items"]}
    assert there == {f"{name}.{node}": "joined" for node in NODES}
    status = strata("status", "-f", str(file), env=env, timeout=60)
    assert "3 nodes" in status.stdout and place in status.stdout, status.stdout
    # --controller auto (the default): the lab's kubelets hold no image, so no pod runs
    why = "controller: auto -> host (no Node can run it: 3 Nodes, 3 Ready, none holding"
    assert why in said, said[-3000:]
    assert "controller: started on this host" in said, said[-3000:]


def _rack_view_of_the_demo(file: Path, tmp_path: Path) -> None:
    """The dashboard over the state this demo left (every server joined, by its road),
    in headless chromium: the screenshot the README shows (STRATA_UPDATE_DOCS=1 puts it
    in docs/images/; always in build/test-artifacts/)."""
    store = SQLiteStore(tmp_path / ".strata" / "strata.db")
    port = free_port()
    face = web_face(store, build_plan(load(file)), "127.0.0.1", port)
    face.runner.start()
    browser = Browser(tmp_path, width=1400, height=420)  # the legend and the rack
    try:
        browser.open(f"http://127.0.0.1:{port}/")
        browser.wait_for("window.strata && window.strata.painted", "the rack view")
        slots = browser.evaluate(
            "[...document.querySelectorAll('.slot')].map(s => s.dataset.name + ' ' + s.className)"
        )
        assert sorted(slots) == [f"{node} slot s-joined" for node in sorted(NODES)], slots
        shot = browser.screenshot(ROOT / "build" / "test-artifacts" / "lab-demo-rack-view.png")
        if os.environ.get("STRATA_UPDATE_DOCS") == "1":
            shutil.copyfile(shot, ROOT / "docs" / "images" / "rack-view.png")
    finally:
        browser.close()
        face.runner.stop()
        store.close()


def _lost_state_reinstalls_nothing(file: Path, env: dict[str, str], namespace: str) -> None:
    """The state emptied, then removed, under a provisioned lab: the first is refused, the
    second finds the three machines running and holds them for `strata adopt`."""
    state = file.parent / ".strata" / "strata.db"
    fetches = {  # how often each machine's installer asked for its config
        p: p.read_text(errors="replace").count("fetching Ignition config")
        for p in (file.parent / ".strata" / "lab").glob("*.console.log")
    }
    again = ("apply", "-f", str(file), "--no-serve", "--no-pivot", "-o", "json")
    state.write_bytes(b"")
    refused = strata(*again, env=env, timeout=120, inside=namespace)
    assert refused.returncode == 2 and "is empty (0 bytes)" in refused.stderr, refused.stderr
    for suffix in ("", "-wal", "-shm"):
        state.with_name(state.name + suffix).unlink(missing_ok=True)
    held = strata(*again, env=env, timeout=120, inside=namespace)
    assert held.returncode == 1, held.stdout[-3000:] + held.stderr[-3000:]
    changes = [json.loads(line) for line in held.stdout.splitlines()]
    assert {c["node"] for c in changes if c["to"] == "found-running"} == {
        "lab-cp-0",
        "lab-worker-0",
        "lab-worker-1",
    }
    assert not any(c["to"] in ("provisioning", "booting") for c in changes)
    assert len(fetches) == 3 and set(fetches.values()) == {1}
    for console, count in fetches.items():  # no machine was reset into its installer again
        assert console.read_text(errors="replace").count("fetching Ignition config") == count
    plan = strata("plan", "-f", str(file), env=env, timeout=60)
    assert "3 found running — adopt or reinstall?" in plan.stdout, plan.stdout
    adopted = strata("adopt", "--all-found", "--file", str(file), env=env, timeout=60)
    assert adopted.returncode == 0, adopted.stderr
    status = strata("status", "-f", str(file), "-o", "json", env=env, timeout=60)
    assert dict(json.loads(status.stdout)["counts"]["layer"]["mgmt"]) == {"provisioned": 3}


def test_lab_up_apply_down(tmp_path: Path) -> None:
    assert os.geteuid() == 0, "the lab builds a network namespace: run this test as root (CI does)"
    name = f"e2e{secrets.token_hex(2)}"
    file = tmp_path / "topology.yaml"
    file.write_text(LAB.read_text().replace("name: lab\n", f"name: {name}\n", 1))
    env = {**os.environ, "STRATA_LAB_BMC_PASSWORD": secrets.token_hex(8), "COLUMNS": "120"}
    env["KUBEBUILDER_ASSETS"] = str(assets_dir())  # the lab's Kubernetes (skips if absent)
    up = strata(  # as ./dev demo starts it: lab-worker-0's BMC has no virtual media,
        "lab",  # lab-cp-0's no Redfish (its IPMI, bmc.fallback, drives it)
        "up",
        "-f",
        str(file),
        "--without-virtual-media",
        "lab-worker-0",
        "--without-redfish",
        "lab-cp-0",
        env=env,
        timeout=300,
    )
    assert up.returncode == 0, up.stderr
    namespace = f"strata-{name}"
    try:
        applied = strata(
            "apply",
            "-f",
            str(file),
            "--listen",
            "192.168.110.1:8080",
            "--dhcp-interface",
            "prov0",
            "--until",
            "joined",
            "--copy-credentials",  # the pivot's: the BMC password a Secret in the cluster
            "-o",
            "json",
            env=env,
            timeout=900,
            inside=namespace,
        )
        kube_log = (tmp_path / ".strata" / "lab" / "kube-daemon.log").read_text(errors="replace")
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:] + kube_log
        changes = [json.loads(line) for line in applied.stdout.splitlines()]
        for state in ("provisioned", "joined"):
            assert {c["node"] for c in changes if c["to"] == state} == set(NODES), state
        _nodes_ready_in_the_api(file, env, namespace, name)
        store = SQLiteStore(tmp_path / ".strata" / "strata.db")
        for node in NODES:
            kinds = [e.kind for e in store.events(node)]
            # (its first-boot may come after apply has finished and stopped the boot service)
            for machine_did in ("ipxe-fetched", "ignition-fetched", "installed"):
                assert machine_did in kinds, (node, kinds)
            console = (tmp_path / ".strata" / "lab" / f"{node}.console.log").read_text(
                errors="replace"
            )
            assert "strata-lab: reported installed" in console
            fetched = [e.detail for e in store.events(node) if e.kind == "ipxe-fetched"]
            road = "virtual-media" if node == "lab-worker-1" else None  # the example says so
            assert [f.get("via") for f in fetched] == [road], (node, fetched)
            loader = "grub" if node == "lab-worker-1" else None  # on UEFI, GRUB asked
            assert [f.get("loader") for f in fetched] == [loader], (node, fetched)
            assert ("media-ejected" in kinds) is (road is not None), (node, kinds)
            booted = [e.detail for e in store.events(node) if e.detail.get("to") == "booting"]
            assert [b["method"] for b in booted] == ["virtualmedia" if road else "ipxe"]
        (fell,) = [  # lab-worker-0 lists [virtualmedia, ipxe]; its BMC has no virtual CD
            e.detail for e in store.events("lab-worker-0") if e.detail.get("to") == "booting"
        ]
        assert [s["method"] for s in fell["skipped"]] == ["virtualmedia"]
        assert "no virtual CD or DVD drive" in fell["skipped"][0]["reason"]
        switched = {
            n: [e.detail for e in store.events(n) if e.kind == "bmc-fallback"] for n in NODES
        }
        (ipmi,) = switched.pop("lab-cp-0")  # Redfish off at its BMC: IPMI drove it, once
        assert ipmi["to"] == "ipmi://192.168.100.11:623", ipmi
        assert "no such resource" in ipmi["reason"], ipmi  # its System answered 404
        assert switched == {"lab-worker-0": [], "lab-worker-1": []}
        leases = (tmp_path / ".strata" / "dhcp" / "dnsmasq.log").read_text(errors="replace")
        assert "DHCPACK(prov0)" in leases and "http://192.168.110.1:8080/boot.ipxe" in leases
        store.close()
        _rack_view_of_the_demo(file, tmp_path)
        _plane_moved_into_mgmt(file, env, namespace, name, applied.stderr)
        _lost_state_reinstalls_nothing(file, env, namespace)
    finally:
        down = strata("lab", "down", "-f", str(file), env=env, timeout=300)
    assert down.returncode == 0, down.stderr
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert namespace not in namespaces
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert left == "", "processes of the lab outlived `strata lab down`"
