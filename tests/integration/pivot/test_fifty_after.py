"""The issue's first test: SQLite -> cluster with 50 emulated servers (sushy-tools'
BMCs, simulated machines) taken to provisioned by a real `strata apply` — one of
them failed (its first network boot never fetches its config: the booting timeout)
— then `strata pivot --allow-failed` into a cluster. After the move, the cluster's
controller (`strata controller` on the host against it, as docs/pivot.md says)
provisions a 51st server added to the Topology; `strata status --kubeconfig` lists
all 51 with their states; `strata retry` of the failed one against the cluster is
honoured by the controller (it provisions it); no moved server is powered on again.

CI time (this 2-core machine, shared): printed at the end (``pytest -s``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from strata.store import KubeStore
from tests.integration.controller.conftest import make_fleet  # noqa: F401 (a fixture)
from tests.integration.operator_run.conftest import TOPOLOGIES, _object
from tests.support.boot_server import free_port
from tests.support.fleet_topology import fleet_yaml
from tests.support.kube_api import ControlPlane, wait_for
from tests.support.redfish_emulator import Emulator

SERVERS = 50
BOOTING = "booting=10"  # seconds: the silent server's first boot fails in this


def test_fifty_moved_then_one_added_one_retried_in_the_cluster(
    make_fleet: Any,  # noqa: F811
    emulator: Emulator,
    plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    fleet = make_fleet(SERVERS + 1, per_rack=10)
    fifty = fleet.file.parent / "fifty.yaml"
    fifty.write_text(fleet_yaml(emulator.url, fleet.systems[:SERVERS], per_rack=10))
    silent, added = fleet.systems[7].name, fleet.systems[SERVERS].name
    fleet.machines.by_name(silent).skip_ignition = 1  # boots iPXE, never fetches its config
    state = str(tmp_path / "strata.db")
    boot = ("--listen", f"127.0.0.1:{fleet.port}", "--url", f"http://127.0.0.1:{fleet.port}")
    artifacts = ("--artifacts", str(fleet.file.parent / "artifacts"))
    applied = fleet.strata(
        "apply", "-f", str(fifty), "--state", state, *boot, *artifacts, "-o", "plain",
        "--until", "provisioned", "--timeout", BOOTING,
    )  # fmt: skip
    assert applied.exit_code == 1, applied.output  # the silent one failed
    applied_at = time.monotonic()
    kubeconfig = str(plane.admin_kubeconfig())
    moved = fleet.strata(
        "pivot", "-f", str(fifty), "--state", state, "--to-kubeconfig", kubeconfig,
        "--to-namespace", namespace, "--copy-credentials", "--controller", "none", "--allow-failed",
    )  # fmt: skip
    assert moved.exit_code == 0, moved.output
    assert f"failed servers (--allow-failed moves them as they are): {silent}" in moved.output
    moved_at = time.monotonic()
    store = KubeStore.from_kubeconfig(kubeconfig, namespace, "emulated")
    states = {n: r.state for n, r in store.records().items()}
    assert len(states) == SERVERS and states.pop(silent) == "failed"
    assert set(states.values()) == {"provisioned"}
    _add_the_51st(plane, namespace, fleet.file)
    process = _controller(kubeconfig, namespace, boot, artifacts, tmp_path)
    try:
        wait_for(lambda: _settled(store, process, tmp_path, added), 300, f"{added} provisioned")
        status = fleet.strata(
            "status", "--kubeconfig", kubeconfig, "-n", namespace, "-t", "emulated", "-o", "json"
        )
        assert status.exit_code == 0, status.output
        nodes = json.loads(status.output)["nodes"]
        assert len(nodes) == SERVERS + 1
        seen = {name: node["state"] for name, node in nodes.items()}
        assert seen.pop(silent) == "failed" and set(seen.values()) == {"provisioned"}
        assert nodes[silent]["step"] == "booting" and "Ignition" in nodes[silent]["reason"]
        retried = fleet.strata(
            "retry", silent, "--kubeconfig", kubeconfig, "-n", namespace, "-t", "emulated"
        )
        assert retried.exit_code == 0, retried.output
        assert f"to retry {silent}" in retried.output, retried.output  # asked the controller
        wait_for(lambda: _all_provisioned(store, process, tmp_path), 300, "all 51 provisioned")
    finally:
        process.terminate()
        process.wait(30)
    assert fleet.machines.by_name(silent).boots == ["net", "net", "disk"]
    power_ons = {s.name: fleet.machines.by_name(s.name).power_ons for s in fleet.systems}
    assert power_ons.pop(silent) == 2  # its retry
    assert set(power_ons.values()) == {1}  # no moved server powered on again
    again = fleet.strata(
        "status", "--kubeconfig", kubeconfig, "-n", namespace, "-t", "emulated", "-o", "json"
    )
    assert {n["state"] for n in json.loads(again.output)["nodes"].values()} == {"provisioned"}
    done = time.monotonic()
    print(
        f"\n50 servers: apply {applied_at - began:.1f} s, pivot {moved_at - applied_at:.1f} s, "
        f"after the move {done - moved_at:.1f} s, whole test {done - began:.1f} s"
    )


def _add_the_51st(plane: ControlPlane, namespace: str, file: Path) -> None:
    """The Topology the move made from fifty.yaml, given the 51st server (PUT)."""
    document = yaml.safe_load(file.read_text())
    with plane.client() as api:
        path = f"{TOPOLOGIES.format(ns=namespace)}/emulated"
        moved_object = api.get(path).json()
        spec = _object(document, None)["spec"]
        spec["credentials"] = moved_object["spec"]["credentials"]  # the Secret the move made
        made = api.put(path, json={**moved_object, "spec": spec})
        assert made.status_code == 200, made.text


def _controller(
    kubeconfig: str, namespace: str, boot: tuple[str, ...], artifacts: tuple[str, ...], tmp: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "strata.cli.app", "controller",
        "--kubeconfig", kubeconfig, "--namespace", namespace, "--identity", "after-pivot",
        *boot, *artifacts, "--health-addr", f"127.0.0.1:{free_port()}",
        "--until", "provisioned", "--resync", "0.5",
    ]  # fmt: skip
    log = (tmp / "controller.log").open("ab")
    return subprocess.Popen(command, stdout=log, stderr=log, env=dict(os.environ))


def _alive(process: subprocess.Popen[bytes], tmp: Path) -> None:
    if process.poll() is not None:
        raise AssertionError((tmp / "controller.log").read_text()[-6000:])


def _settled(
    store: KubeStore, process: subprocess.Popen[bytes], tmp: Path, added: str
) -> bool | None:
    _alive(process, tmp)
    records = store.records()
    return True if added in records and records[added].state == "provisioned" else None


def _all_provisioned(store: KubeStore, process: subprocess.Popen[bytes], tmp: Path) -> bool | None:
    _alive(process, tmp)
    records = store.records()
    done = len(records) == SERVERS + 1 and {r.state for r in records.values()} == {"provisioned"}
    return True if done else None
